/** "1 KiB", "100 MiB", "1 GiB": how the benchmark names a batch size. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 30) return `${bytes / (1 << 30)} GiB`;
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  return `${bytes / 1024} KiB`;
}
