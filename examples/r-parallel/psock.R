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
kind <- "R PSOCK"
script <- "psock.R"
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
source(file.path(here, "story.R"))

pss <- function(pid) {
  rollup <- readLines(sprintf("/proc/%d/smaps_rollup", pid))
  as.numeric(sub("^Pss:\\s+([0-9]+) kB$", "\\1", grep("^Pss:", rollup, value = TRUE))) * 1024
}

# Each worker sums its share of the columns, reading every value.
work <- function(k) sum(features[[k]])


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
  print_figures("PSOCK workers", c("shmpipe by name", "clusterExport copy"),
                c("cluster start-up", "publish_table", "clusterExport + parLapply -> results", "bytes sent per worker",
                  "workers' total Pss", "workers' Pss growth"))
  copy <- figure_of("clusterExport copy", "clusterExport + parLapply -> results")
  by_name <- figure_of("shmpipe by name", "clusterExport + parLapply -> results")
  cat(sprintf("\nclusterExport -> results: %.0fx faster by name (%.0fx counting the publish); the table took %.1fx less of the workers' memory.\n",
              copy / by_name, copy / (by_name + figure_of("shmpipe by name", "publish_table")),
              figure_of("clusterExport copy", "workers' Pss growth") / figure_of("shmpipe by name", "workers' Pss growth")))
}
