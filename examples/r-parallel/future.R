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
kind <- "R future multisession"
script <- "future.R"
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
source(file.path(here, "story.R"))

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
  print_figures("future multisession workers", c("shmpipe by name", "future copy"),
                c("workers' start-up", "publish_table", "future -> results", "bytes sent per future"))
  cat(sprintf("\nfuture -> results: %.0fx faster by name (%.0fx counting the publish).\n",
              figure_of("future copy", "future -> results") / figure_of("shmpipe by name", "future -> results"),
              figure_of("future copy", "future -> results") /
                (figure_of("shmpipe by name", "future -> results") + figure_of("shmpipe by name", "publish_table"))))
}
