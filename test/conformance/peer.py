"""The Python peer of the conformance matrix (test/conformance.test.ts).

    peer.py ROLE SCENARIO CHANNEL

The same command line, rules and output as peer.ts; the values come from
scenarios.json and are encoded by pyarrow here."""
import json
import os
import signal
import sys

import pyarrow as pa

import shmpipe

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "scenarios.json"), encoding="utf-8") as f:
    DESCRIPTION = json.load(f)
TIMEOUT = 30.0


def record_sizes(phases):
    sizes = []
    for phase in phases:
        for _ in range(phase["count"]):
            sizes.append(phase["sizes"][len(sizes) % len(phase["sizes"])])
    return sizes


def record(k, size):
    # byte j is (k * 131 + j) % 251: a cycle of 251 bytes, repeated
    cycle = bytes((k * 131 + j) % 251 for j in range(251))
    return (cycle * (size // 251 + 1))[:size]


def value_at(column, r):
    null = column.get("null")
    if null and r % null[0] == null[1]:
        return None
    kind = column["type"]
    if kind in ("int32", "int64", "float64", "timestamp[us,UTC]"):
        return column["a"] * r + column["b"]
    if kind == "utf8":
        return f"{column['prefix']}{r}{column['suffix'] if r % column['suffixEvery'] == 0 else ''}"
    if kind == "bool":
        return r % 2 == 0
    if kind == "dictionary<utf8>":
        return column["words"][r % len(column["words"])]
    if kind == "list<int32>":
        return [column["a"] * r + column["b"] + i for i in range(r % column["lengths"])]
    if kind.startswith("struct<"):
        return {field["name"]: value_at(field, r) for field in column["fields"]}
    raise ValueError(f"scenarios.json: unknown column type {kind}")


TYPES = {"int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(), "utf8": pa.string(), "bool": pa.bool_(),
         "timestamp[us,UTC]": pa.timestamp("us", tz="UTC"), "dictionary<utf8>": pa.dictionary(pa.int32(), pa.string()),
         "list<int32>": pa.list_(pa.int32())}


def arrow_type(column):
    if column["type"].startswith("struct<"):
        return pa.struct([pa.field(f["name"], arrow_type(f)) for f in column["fields"]])
    return TYPES[column["type"]]


def batch_of(spec, start, count):
    arrays = []
    for column in spec["columns"]:
        values = [value_at(column, start + i) for i in range(count)]
        if column["type"] == "dictionary<utf8>":
            words = column["words"]
            indices = pa.array([None if v is None else (start + i) % len(words) for i, v in enumerate(values)], pa.int32())
            arrays.append(pa.DictionaryArray.from_arrays(indices, pa.array(words, pa.string())))
        else:
            arrays.append(pa.array(values, arrow_type(column)))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([pa.field(c["name"], arrow_type(c)) for c in spec["columns"]]))


def batches_of(spec):
    start, out = 0, []
    for rows in spec["batches"]:
        out.append(batch_of(spec, start, rows))
        start += rows
    return out


def type_name(t):
    if pa.types.is_int32(t):
        return "int32"
    if pa.types.is_int64(t):
        return "int64"
    if pa.types.is_float64(t):
        return "float64"
    if pa.types.is_string(t):
        return "utf8"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
        return "dictionary<utf8>"
    if pa.types.is_timestamp(t) and t.unit == "us":
        return f"timestamp[us,{t.tz or ''}]"
    if pa.types.is_list(t):
        return f"list<{type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{t.field(i).name}:{type_name(t.field(i).type)}" for i in range(t.num_fields)) + ">"
    return f"?{t}"


class Canonical:
    """The canonical result of the batches read (each taken down while held)."""

    def __init__(self):
        self.result = {"batches": [], "types": {}, "columns": {}, "error": None}

    def add(self, batch):
        self.result["batches"].append(batch.num_rows)
        for field, column in zip(batch.schema, batch.columns):
            name = type_name(field.type)
            self.result["types"][field.name] = name
            if name.startswith("timestamp"):
                values = column.cast(pa.int64()).to_pylist()
            elif name == "dictionary<utf8>":
                values = column.dictionary_decode().to_pylist()
            else:
                values = column.to_pylist()
            self.result["columns"].setdefault(field.name, []).extend(values)


def writer_end(scenario, channel):
    """The writer creates the channel, unless the scenario has the reader create it."""
    if scenario.get("creator") == "reader":
        return shmpipe.open_writer(channel)
    return shmpipe.create_writer(channel, scenario["capacity"])


def reader_end(scenario, channel):
    if scenario.get("creator") == "reader":
        return shmpipe.create_reader(channel, scenario["capacity"])
    return shmpipe.open_reader(channel)


def show(value):
    print(json.dumps(value, ensure_ascii=False), flush=True)


def go():
    sys.stdin.readline()


def write_bytes(scenario, channel):
    phases = scenario["phases"]
    sizes = record_sizes(phases)
    writer = writer_end(scenario, channel)
    print("ready", flush=True)
    go()
    sent = 0
    try:
        for p, phase in enumerate(phases):
            for _ in range(phase["count"]):
                writer.send(record(sent, sizes[sent]), timeout=TIMEOUT)
                sent += 1
            if p == 0:
                if scenario["kind"] == "writer-killed":
                    view = writer.claim(4096, timeout=TIMEOUT)  # killed holding it, half filled
                    view[:2048] = b"\xee" * 2048
                print("half", flush=True)
                go()
        writer.close(timeout=TIMEOUT)
        show({"sent": sent, "error": None})
    except shmpipe.ShmpipeError as error:
        show({"sent": sent, "error": error.code})


def read_bytes(scenario, channel):
    sizes = record_sizes(scenario["phases"])
    stop_at = scenario["phases"][0]["count"] if scenario["kind"] == "reader-killed" else -1
    reader = reader_end(scenario, channel)
    print("ready", flush=True)
    result = {"records": 0, "bytes": 0, "mismatches": 0, "error": None}
    try:
        while True:
            message = reader.recv(timeout=TIMEOUT)
            if message is None:
                break
            k = result["records"]
            with message:
                data = bytes(message.data)
                if len(data) != sizes[k] or data != record(k, len(data)):
                    result["mismatches"] += 1
                result["bytes"] += len(data)
            result["records"] += 1
            if result["records"] == stop_at:
                print("half", flush=True)
                signal.pause()  # killed here
    except shmpipe.ShmpipeError as error:
        result["error"] = error.code
    reader.close()
    show(result)


def write_arrow(scenario, channel, spec):
    writer = shmpipe.ArrowWriter(writer_end(scenario, channel))
    print("ready", flush=True)
    go()
    sent = 0
    try:
        if scenario["kind"] == "late-join":
            rows = spec["batches"][0]
            for sent in range(scenario["before"] + scenario["after"]):
                if sent == scenario["before"]:
                    print("half", flush=True)
                    go()
                writer.write(batch_of(spec, sent * rows, rows), timeout=TIMEOUT)
            sent += 1
        else:
            for batch in batches_of(spec):
                writer.write(batch, timeout=TIMEOUT)
                sent += 1
            print("half", flush=True)
            go()
        writer.close(timeout=TIMEOUT)
        show({"sent": sent, "error": None})
    except shmpipe.ShmpipeError as error:
        show({"sent": sent, "error": error.code})


def read_arrow(scenario, channel, spec):
    reader = shmpipe.ArrowReader(reader_end(scenario, channel))
    print("ready", flush=True)
    if scenario["kind"] == "late-join":
        words = spec["columns"][1]["words"]
        result = {"batches": 0, "first": None, "last": None, "problems": 0, "error": None}
        try:
            while (batch := reader.read(timeout=TIMEOUT)) is not None:
                seq = batch.column("seq").to_pylist()
                labels = batch.column("label").dictionary_decode().to_pylist()
                for value, label in zip(seq, labels):
                    if result["last"] is not None and value != result["last"] + 1:
                        result["problems"] += 1
                    if label != words[value % len(words)]:
                        result["problems"] += 1
                    if result["first"] is None:
                        result["first"] = value
                    result["last"] = value
                result["batches"] += 1
        except shmpipe.ShmpipeError as error:
            result["error"] = error.code
        reader.close()
        show(result)
        return
    canonical = Canonical()
    try:
        while (batch := reader.read(timeout=TIMEOUT)) is not None:
            canonical.add(batch)
    except shmpipe.ShmpipeError as error:
        canonical.result["error"] = error.code
    reader.close()
    show(canonical.result)


def publish(scenario, channel, spec):
    # A persistent table outlives its publisher: it exits at once, and the reader unpublishes it.
    persistent = scenario["kind"] == "table-persistent"
    published = shmpipe.publish(channel, pa.Table.from_batches(batches_of(spec)), persist=persistent)
    print("ready", flush=True)
    if not persistent:
        go()
        published.unpublish()
    show({"sent": len(spec["batches"]), "error": None})


def open_table(scenario, channel):
    try:
        table = shmpipe.open_table(channel)
        canonical = Canonical()
        for batch in table.to_batches():
            canonical.add(batch)
        if scenario["kind"] == "table-persistent":
            shmpipe.unpublish(channel)
    except shmpipe.ShmpipeError as error:
        show({"error": error.code})
        return
    show(canonical.result)


def main():
    role, name, channel = sys.argv[1:4]
    scenario = DESCRIPTION["scenarios"][name]
    spec = DESCRIPTION["tables"].get(scenario.get("table", ""))
    if role == "write-bytes":
        write_bytes(scenario, channel)
    elif role == "read-bytes":
        read_bytes(scenario, channel)
    elif role == "write-arrow":
        write_arrow(scenario, channel, spec)
    elif role == "read-arrow":
        read_arrow(scenario, channel, spec)
    elif role == "publish":
        publish(scenario, channel, spec)
    elif role == "open-table":
        open_table(scenario, channel)
    else:
        raise SystemExit(f"peer.py: unknown role {role}")


if __name__ == "__main__":
    main()
