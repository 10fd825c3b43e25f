// The far end of the round-trip benchmark: returns every record it gets.
//   bun scripts/bench/echo.ts <ping-channel> <pong-channel> <spin>
import { openReader, openWriter } from "../../lib/index.ts";

const [ping, pong, spinText] = process.argv.slice(2);
const spin = Number(spinText);
using reader = openReader(ping!);
using writer = openWriter(pong!);
for (let m = reader.recvSync({ spin, timeoutMs: 60_000 }); m; m = reader.recvSync({ spin, timeoutMs: 60_000 })) {
  writer.send(m.bytes, { spin });
}
