# The R parallel story through future: WORKERS multisession workers
# (future::plan(multisession)) each compute on a features table of BYTES
# bytes of doubles (16 columns), got either by name from shmpipe
# (publish_table() once, then futures whose global is the opened table,
# whose columns serialize by name: each worker maps the same memory) or as
# future ships a data.frame, serialized into every future (which needs
# options(future.globals.maxSize) raised over the table's size). One future
# per worker, each summing its share of the columns. Prints, side by side:
# the workers' start-up, the time from the first future() to every result
# (the one publish_table() copy apart) and the bytes sent per future (the
# workers' memory is not shown: future drops a future's globals once it is
# resolved, so what a worker holds after says little). With --json: one
# JSON line per figure (the benchmark, scripts/bench/r-cases.ts).
#   Rscript examples/r-parallel/future.R [--json] BYTES WORKERS
suppressPackageStartupMessages({
  library(shmpipe)
  library(future)
})
args <- commandArgs(trailingOnly = TRUE)
json <- "--json" %in% args
numbers <- as.numeric(args[args != "--json"])
if (length(numbers) != 2 || anyNA(numbers)) stop("usage: future.R [--json] BYTES WORKERS")
bytes <- numbers[1]
workers <- numbers[2]
columns <- 16
rows <- floor(bytes / 8 / columns)
size <- if (bytes >= 2^30) sprintf("%g GiB", bytes / 2^30) else sprintf("%g MiB", bytes / 2^20)

figures <- list()
figure <- function(way, name, value, unit) {
  figures[[length(figures) + 1]] <<- list(way = way, name = name, value = value, unit = unit)
  if (json) cat(sprintf('{"case":"R future multisession, %d workers, %s table: %s: %s","value":%.6g,"unit":"%s"}\n',
                        workers, size, way, name, value, unit))
}
seconds_since <- function(started) as.numeric(Sys.time() - started, units = "secs")

expected <- rows * (rows - 1) / 2 * columns + rows * columns * (columns + 1) / 2
features <- as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(seq_len(rows) - 1) + k),
                                   sprintf("f%02d", seq_len(columns))))
shares <- split(seq_len(columns), rep_len(seq_len(workers), columns))

# One way of sending `table`: a future per worker, each summing its share.
measure <- function(way, table) {
  started <- Sys.time()
  plan(multisession, workers = workers)
  on.exit(plan(sequential))
  invisible(lapply(lapply(seq_len(workers), function(w) future(NULL)), value))
  figure(way, "workers' start-up", seconds_since(started), "s")
  started <- Sys.time()
  futures <- lapply(shares, function(k) future(vapply(k, function(j) sum(table[[j]]), 0),
                                                globals = list(table = table, k = k)))
  results <- unlist(lapply(futures, value))
  figure(way, "future -> results", seconds_since(started), "s")
  if (abs(sum(results) - expected) > 1e-9 * expected) stop(sprintf("%s: the workers' sums are wrong", way))
  figure(way, "bytes sent per future", length(serialize(list(table = table, k = shares[[1]]), NULL)), "B")
}

started <- Sys.time()
published <- publish_table(sprintf("future-%d", Sys.getpid()), features)
figure("shmpipe by name", "publish_table", seconds_since(started), "s")
shared <- open_table(published$name)
shm_future_allow(shared) # future < 1.34 counts the table at its size, not at what is sent
measure("shmpipe by name", shared)
rm(shared)
close(published)
options(future.globals.maxSize = Inf) # the copy is sent whole
measure("future copy", features)

if (!json) {
  shown <- function(f) switch(f$unit, s = sprintf("%.2f s", f$value), B = format(f$value, big.mark = ","),
                              MiB = sprintf("%s MiB", format(round(f$value), big.mark = ",")))
  cell <- function(way, name) {
    for (f in figures) if (f$way == way && f$name == name) return(shown(f))
    "-"
  }
  names <- c("workers' start-up", "publish_table", "future -> results", "bytes sent per future")
  cat(sprintf("%d future multisession workers sum a %s features table (%d columns x %s rows); every answer checked:\n\n",
              workers, size, columns, format(rows, big.mark = ",")))
  cat(sprintf("%-38s %18s %20s\n", "", "shmpipe by name", "future copy"))
  for (name in names) cat(sprintf("%-38s %18s %20s\n", name, cell("shmpipe by name", name), cell("future copy", name)))
  get <- function(way, name) Filter(function(f) f$way == way && f$name == name, figures)[[1]]$value
  cat(sprintf("\nfuture -> results: %.0fx faster by name (%.0fx counting the publish).\n",
              get("future copy", "future -> results") / get("shmpipe by name", "future -> results"),
              get("future copy", "future -> results") /
                (get("shmpipe by name", "future -> results") + get("shmpipe by name", "publish_table"))))
}
