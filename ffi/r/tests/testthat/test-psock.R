# The PSOCK story: 4 workers get a 1 GB table by name, not by copy.

pss_bytes <- function(pid) {
  rollup <- readLines(sprintf("/proc/%d/smaps_rollup", pid))
  kb <- as.numeric(sub("^Pss: +([0-9]+) kB$", "\\1", grep("^Pss:", rollup, value = TRUE)))
  kb * 1024
}

test_that("4 PSOCK workers get a 1 GB table by name and share one copy of it", {
  name <- unique_name("psock")
  columns <- 16
  rows <- 2^23 # 16 columns x 8 Mi rows x 8 bytes = 1 GiB
  frame <- as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(seq_len(rows)) * k),
                                  sprintf("f%02d", seq_len(columns))))
  table <- publish_table(name, frame)
  rm(frame)
  invisible(gc())
  features <- open_table(name)
  sent <- serialize(features, NULL) # what clusterExport sends each worker
  expect_lt(length(sent), 200 * columns) # under 200 bytes a column (174 measured), whatever its length
  cluster <- parallel::makePSOCKcluster(4)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  expect_true(shm_cluster_check(cluster))
  parallel::clusterExport(cluster, "features", envir = environment())
  sums <- parallel::parLapply(cluster, seq_len(columns), function(k) sum(features[[k]]))
  expected <- as.numeric(rows) * (rows + 1) / 2 * seq_len(columns)
  expect_equal(unlist(sums), expected)
  # Every worker reads every column: each maps the whole table.
  totals <- parallel::clusterEvalQ(cluster, sum(vapply(features, sum, 0)))
  expect_equal(unlist(totals), rep(sum(expected), 4))
  expect_true(all(unlist(parallel::clusterEvalQ(cluster, all(vapply(features, shmpipe::is_shared, NA))))))
  pids <- unlist(parallel::clusterEvalQ(cluster, Sys.getpid()))
  table_bytes <- 8 * columns * rows
  # Pss splits a shared page among the processes that map it: the workers'
  # total is at most one copy (plus R itself in each), not four.
  expect_lt(sum(vapply(pids, pss_bytes, 0)), 1.2 * table_bytes)
  close(table)
})

test_that("a column whose table is gone fails the worker's task, saying so, and the cluster goes on", {
  name <- unique_name("psock-gone")
  table <- publish_table(name, data.frame(x = c(1, 2, 3)))
  column <- open_table(name)$x
  close(table) # this process keeps its mapping; a new worker finds no table
  cluster <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  sum_of <- function(x) sum(x)
  environment(sum_of) <- globalenv()
  err <- tryCatch(parallel::clusterCall(cluster, sum_of, column), error = function(e) e)
  expect_s3_class(err, "error")
  expect_match(conditionMessage(err), "No such file or directory")
  expect_equal(parallel::clusterEvalQ(cluster, 1 + 1)[[1]], 2)
})

test_that("a cluster whose workers cannot load the package is refused, naming them", {
  cluster <- parallel::makePSOCKcluster(2)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  # Workers whose library paths hold no shmpipe, wherever this machine
  # installed it (the README's `R CMD INSTALL` puts it in the site library).
  # The function's environment is the global one: a test's would bring the
  # package's namespace along, and the worker would load it to receive it.
  hide_library <- function(empty) {
    dir.create(empty)
    unlockBinding(".Library.site", baseenv())
    assign(".Library.site", character(), envir = baseenv())
    assign(".lib.loc", empty, envir = environment(.libPaths))
  }
  environment(hide_library) <- globalenv()
  parallel::clusterCall(cluster, hide_library, tempfile("no-library"))
  expect_error(shm_cluster_check(cluster), "workers 1, 2 cannot load the shmpipe package")
})
