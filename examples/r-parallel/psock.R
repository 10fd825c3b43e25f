# The R parallel story: WORKERS R workers (parallel's PSOCK cluster) each
# compute on a features table of BYTES bytes of doubles (16 columns),
# which they get either by name from shmpipe (publish_table() once, then
# clusterExport() of the opened table, whose columns serialize by name:
# each worker maps the same memory) or as R ships it, by clusterExport()
# of the data.frame itself (a serialized copy per worker). Prints, side by
# side: cluster start-up, the time from clusterExport() to every worker's
# result (the one publish_table() copy apart: a published table serves any
# number of clusters), the bytes sent per worker, and the workers' total
# Pss (proportional set size: a page shared by n processes counts 1/n in
# each) once they computed, and how much it grew from before the table
# was sent (R itself takes some 25 MiB a worker). With --json: one JSON line per figure (the
# benchmark, scripts/bench/r-cases.ts).
#   Rscript examples/r-parallel/psock.R [--json] BYTES WORKERS
suppressPackageStartupMessages({
  library(shmpipe)
  library(parallel)
})
args <- commandArgs(trailingOnly = TRUE)
json <- "--json" %in% args
numbers <- as.numeric(args[args != "--json"])
if (length(numbers) != 2 || anyNA(numbers)) stop("usage: psock.R [--json] BYTES WORKERS")
bytes <- numbers[1]
workers <- numbers[2]
columns <- 16
rows <- floor(bytes / 8 / columns)
size <- if (bytes >= 2^30) sprintf("%g GiB", bytes / 2^30) else sprintf("%g MiB", bytes / 2^20)

figures <- list()
figure <- function(way, name, value, unit) {
  figures[[length(figures) + 1]] <<- list(way = way, name = name, value = value, unit = unit)
  if (json) cat(sprintf('{"case":"R PSOCK, %d workers, %s table: %s: %s","value":%.6g,"unit":"%s"}\n',
                        workers, size, way, name, value, unit))
}
seconds_since <- function(started) as.numeric(Sys.time() - started, units = "secs")

pss <- function(pid) {
  rollup <- readLines(sprintf("/proc/%d/smaps_rollup", pid))
  as.numeric(sub("^Pss:\\s+([0-9]+) kB$", "\\1", grep("^Pss:", rollup, value = TRUE))) * 1024
}

# Each worker sums its share of the columns, reading every value.
work <- function(k) sum(features[[k]])
expected <- rows * (rows - 1) / 2 * columns + rows * columns * (columns + 1) / 2

features <- as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(seq_len(rows) - 1) + k),
                                   sprintf("f%02d", seq_len(columns))))

# One way of sending: `send` gets the table to every worker and returns
# the bytes it sent each; the time runs from there to every result.
measure <- function(way, send) {
  started <- Sys.time()
  cluster <- makePSOCKcluster(workers)
  on.exit(stopCluster(cluster))
  shm_cluster_check(cluster)
  figure(way, "cluster start-up", seconds_since(started), "s")
  pids <- unlist(clusterEvalQ(cluster, Sys.getpid()))
  before <- sum(vapply(pids, pss, 0))
  started <- Sys.time()
  sent <- send(cluster)
  results <- unlist(parLapply(cluster, seq_len(columns), work))
  figure(way, "clusterExport + parLapply -> results", seconds_since(started), "s")
  if (abs(sum(results) - expected) > 1e-9 * expected) stop(sprintf("%s: the workers' sums are wrong", way))
  figure(way, "bytes sent per worker", sent, "B")
  after <- sum(vapply(pids, pss, 0))
  figure(way, "workers' total Pss", after / 2^20, "MiB")
  figure(way, "workers' Pss growth", (after - before) / 2^20, "MiB")
}

started <- Sys.time()
table <- publish_table(sprintf("psock-%d", Sys.getpid()), features)
figure("shmpipe by name", "publish_table", seconds_since(started), "s")
measure("shmpipe by name", function(cluster) {
  shared <- list(features = open_table(table$name)) # the workers' `features` is the shared table
  clusterExport(cluster, "features", envir = list2env(shared))
  length(serialize(shared$features, NULL))
})
close(table)
measure("clusterExport copy", function(cluster) {
  clusterExport(cluster, "features")
  length(serialize(features, NULL))
})

if (!json) {
  shown <- function(f) switch(f$unit, s = sprintf("%.2f s", f$value), B = format(f$value, big.mark = ","),
                              MiB = sprintf("%s MiB", format(round(f$value), big.mark = ",")))
  cell <- function(way, name) {
    for (f in figures) if (f$way == way && f$name == name) return(shown(f))
    "-"
  }
  names <- c("cluster start-up", "publish_table", "clusterExport + parLapply -> results", "bytes sent per worker",
             "workers' total Pss", "workers' Pss growth")
  cat(sprintf("%d PSOCK workers sum a %s features table (%d columns x %s rows); every answer checked:\n\n",
              workers, size, columns, format(rows, big.mark = ",")))
  cat(sprintf("%-38s %18s %20s\n", "", "shmpipe by name", "clusterExport copy"))
  for (name in names) cat(sprintf("%-38s %18s %20s\n", name, cell("shmpipe by name", name), cell("clusterExport copy", name)))
  get <- function(way, name) Filter(function(f) f$way == way && f$name == name, figures)[[1]]$value
  cat(sprintf("\nclusterExport -> results: %.0fx faster by name (%.0fx counting the publish); the table took %.1fx less of the workers' memory.\n",
              get("clusterExport copy", "clusterExport + parLapply -> results") / get("shmpipe by name", "clusterExport + parLapply -> results"),
              get("clusterExport copy", "clusterExport + parLapply -> results") /
                (get("shmpipe by name", "clusterExport + parLapply -> results") + get("shmpipe by name", "publish_table")),
              get("clusterExport copy", "workers' Pss growth") / get("shmpipe by name", "workers' Pss growth")))
}
