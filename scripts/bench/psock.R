# The PSOCK story, measured: WORKERS R workers each compute on a features
# table of BYTES bytes of doubles (16 columns), which they get either by
# name from shmpipe (publish_table(), then clusterExport() of the opened
# table, whose columns serialize by name) or as R ships it, by
# clusterExport() of the data.frame itself (a serialized copy per worker).
# Prints JSON lines: the time from clusterExport() to the
# workers' results (cluster start-up excluded, measured alone; for shmpipe
# the one publish_table() copy is measured alone too, as a published table
# serves any number of clusters), the bytes sent per worker, and the
# workers' total Pss while they hold the table.
#   Rscript scripts/bench/psock.R BYTES WORKERS
library(shmpipe)
library(parallel)
args <- as.numeric(commandArgs(trailingOnly = TRUE))
bytes <- args[1]
workers <- args[2]
columns <- 16
rows <- bytes / 8 / columns
size <- if (bytes >= 2^30) sprintf("%g GiB", bytes / 2^30) else sprintf("%g MiB", bytes / 2^20)

figure <- function(name, value, unit) {
  cat(sprintf('{"case":"R PSOCK, %d workers, %s table: %s","value":%.6g,"unit":"%s"}\n', workers, size, name, value, unit))
}

pss <- function(pid) {
  rollup <- readLines(sprintf("/proc/%d/smaps_rollup", pid))
  as.numeric(sub("^Pss:\\s+([0-9]+) kB$", "\\1", grep("^Pss:", rollup, value = TRUE))) * 1024
}

# Each worker sums its share of the columns, reading every value.
work <- function(k) sum(features[[k]])
expected <- as.numeric(rows) * (rows - 1) / 2 * columns + rows * columns * (columns + 1) / 2

features <- as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(seq_len(rows) - 1) + k),
                                   sprintf("f%02d", seq_len(columns))))

# One way of sending: `send` gets the table to every worker; the time runs
# from there to every worker's results.
measure <- function(label, send) {
  started <- Sys.time()
  cluster <- makePSOCKcluster(workers)
  on.exit(stopCluster(cluster))
  figure(sprintf("%s: cluster start-up", label), as.numeric(Sys.time() - started, units = "secs"), "s")
  started <- Sys.time()
  sent <- send(cluster)
  results <- unlist(parLapply(cluster, seq_len(columns), work))
  figure(sprintf("%s: clusterExport + parLapply -> results", label), as.numeric(Sys.time() - started, units = "secs"), "s")
  if (abs(sum(results) - expected) > 1e-6 * expected) stop(sprintf("%s: wrong results", label))
  figure(sprintf("%s: bytes sent per worker", label), sent, "B")
  pids <- unlist(clusterEvalQ(cluster, Sys.getpid()))
  figure(sprintf("%s: workers' total Pss", label), sum(vapply(pids, pss, 0)) / 2^20, "MiB")
}

started <- Sys.time()
table <- publish_table(sprintf("bench-psock-%d", Sys.getpid()), features)
figure("shmpipe by name: publish_table", as.numeric(Sys.time() - started, units = "secs"), "s")
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
