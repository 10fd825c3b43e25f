# What the two R parallel examples share (psock.R, future.R), sourced by
# each after it set `kind` (how its JSON figures are named) and `script`:
# the command line, the features table of BYTES bytes of doubles (16
# columns) and the sum every answer is checked against, the figures
# (printed as JSON lines with --json), and the side-by-side table.
args <- commandArgs(trailingOnly = TRUE)
json <- "--json" %in% args
numbers <- as.numeric(args[args != "--json"])
if (length(numbers) != 2 || anyNA(numbers)) stop(sprintf("usage: %s [--json] BYTES WORKERS", script))
bytes <- numbers[1]
workers <- numbers[2]
columns <- 16
rows <- floor(bytes / 8 / columns)
size <- if (bytes >= 2^30) sprintf("%g GiB", bytes / 2^30) else sprintf("%g MiB", bytes / 2^20)

figures <- list()
figure <- function(way, name, value, unit) {
  figures[[length(figures) + 1]] <<- list(way = way, name = name, value = value, unit = unit)
  if (json) cat(sprintf('{"case":"%s, %d workers, %s table: %s: %s","value":%.6g,"unit":"%s"}\n',
                        kind, workers, size, way, name, value, unit))
}
figure_of <- function(way, name) Filter(function(f) f$way == way && f$name == name, figures)[[1]]$value
seconds_since <- function(started) as.numeric(Sys.time() - started, units = "secs")

expected <- rows * (rows - 1) / 2 * columns + rows * columns * (columns + 1) / 2
features <- as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(seq_len(rows) - 1) + k),
                                   sprintf("f%02d", seq_len(columns))))

# The figures of both ways side by side, one row per name.
print_figures <- function(title, ways, names) {
  shown <- function(f) switch(f$unit, s = sprintf("%.2f s", f$value), B = format(f$value, big.mark = ","),
                              MiB = sprintf("%s MiB", format(round(f$value), big.mark = ",")))
  cell <- function(way, name) {
    for (f in figures) if (f$way == way && f$name == name) return(shown(f))
    "-"
  }
  cat(sprintf("%d %s sum a %s features table (%d columns x %s rows); every answer checked:\n\n",
              workers, title, size, columns, format(rows, big.mark = ",")))
  cat(sprintf("%-38s %18s %20s\n", "", ways[1], ways[2]))
  for (name in names) cat(sprintf("%-38s %18s %20s\n", name, cell(ways[1], name), cell(ways[2], name)))
}
