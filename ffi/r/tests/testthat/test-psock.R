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
  expect_lt(length(sent), 200 * columns) # under 200 bytes a column (126 measured), whatever its length or name
  cluster <- parallel::makePSOCKcluster(4)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  expect_true(shm_cluster_check(cluster))
  pids <- unlist(parallel::clusterEvalQ(cluster, Sys.getpid()))
  before <- sum(vapply(pids, pss_bytes, 0)) # R itself in each worker
  parallel::clusterExport(cluster, "features", envir = environment())
  sums <- parallel::parLapply(cluster, seq_len(columns), function(k) sum(features[[k]]))
  expected <- as.numeric(rows) * (rows + 1) / 2 * seq_len(columns)
  expect_equal(unlist(sums), expected)
  # Every worker reads every column: each maps the whole table.
  totals <- parallel::clusterEvalQ(cluster, sum(vapply(features, sum, 0)))
  expect_equal(unlist(totals), rep(sum(expected), 4))
  expect_true(all(unlist(parallel::clusterEvalQ(cluster, all(vapply(features, shmpipe::is_shared, NA))))))
  table_bytes <- 8 * columns * rows
  # Pss splits a shared page among the processes that map it: the workers'
  # total grows by at most one copy, not four (the publisher wrote the
  # table through its file and maps none of it: the workers share it all).
  expect_lt(sum(vapply(pids, pss_bytes, 0)) - before, 1.1 * table_bytes)
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

test_that("columns R converts (timestamps, dates, factors, 64-bit integers, booleans) travel by name too", {
  name <- unique_name("psock-converted")
  n <- 1e6
  frame <- data.frame(
    ts = as.POSIXct(seq_len(n) * 1.5, origin = "1970-01-01", tz = "Europe/Zurich"),
    day = as.Date(seq_len(n) %% 30000, origin = "1960-01-01"),
    qty = bit64::as.integer64(seq_len(n)) * 5000000000,
    small = bit64::as.integer64(seq_len(n)), # int64 that fits: R's integer
    f = factor(rep(c("ask", "bid", NA), length.out = n), levels = c("bid", "ask")),
    ok = rep(c(TRUE, FALSE, NA, TRUE), length.out = n)
  )
  table <- publish_table(name, frame)
  on.exit(close(table), add = TRUE)
  shared <- open_table(name)
  for (column in names(frame)) {
    expect_lt(length(serialize(shared[[column]], NULL)), 1024, label = sprintf("bytes of column %s", column))
    expect_false(is_shared(shared[[column]])) # converted: R's own memory, not the table's
  }
  expect_lt(length(serialize(shared, NULL)), 1024 * ncol(frame))
  cluster <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  parallel::clusterExport(cluster, "shared", envir = environment())
  got <- parallel::clusterEvalQ(cluster, list(
    ts = c(format(shared$ts[c(1, 1e6)], "%Y-%m-%d %H:%M:%OS1 %Z"), class(shared$ts)),
    day = c(format(range(shared$day)), class(shared$day)),
    qty = c(as.character(shared$qty[c(1, 1e6)]), class(shared$qty)),
    small = c(sum(as.numeric(shared$small)), class(shared$small)),
    f = c(table(shared$f, useNA = "always"), levels(shared$f)),
    ok = c(sum(shared$ok, na.rm = TRUE), sum(is.na(shared$ok)))))[[1]]
  expect_equal(got$ts, c(format(frame$ts[c(1, 1e6)], "%Y-%m-%d %H:%M:%OS1 %Z"), "POSIXct", "POSIXt"))
  expect_equal(got$day, c(format(range(frame$day)), "Date"))
  expect_equal(got$qty, c(as.character(frame$qty[c(1, 1e6)]), "integer64"))
  expect_equal(got$small, c(as.character(sum(as.numeric(seq_len(n)))), "integer"))
  expect_equal(unname(got$f), c("333333", "333334", "333333", "bid", "ask"))
  expect_equal(got$ok, c(sum(frame$ok, na.rm = TRUE), sum(is.na(frame$ok))))
})

test_that("a converted column changed in place serializes its values, not the table's name", {
  name <- unique_name("psock-converted-changed")
  table <- publish_table(name, data.frame(day = as.Date(c("2024-01-01", "2024-06-30"))))
  on.exit(close(table), add = TRUE)
  day <- open_table(name)$day
  day[2] <- as.Date("1999-12-31")
  expect_equal(unserialize(serialize(day, NULL)), as.Date(c("2024-01-01", "1999-12-31")))
})

test_that("a worker whose options(shmpipe.int64) differs gets 64-bit integers as the sender had them", {
  name <- unique_name("psock-int64-option")
  table <- publish_table(name, data.frame(q = bit64::as.integer64(c(1, 2, 3))))
  on.exit(close(table), add = TRUE)
  old <- options(shmpipe.int64 = "integer64")
  q <- open_table(name)$q
  options(old)
  cluster <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  parallel::clusterExport(cluster, "q", envir = environment())
  expect_equal(parallel::clusterEvalQ(cluster, c(class(q), as.character(sum(q))))[[1]], c("integer64", "6"))
})

test_that("a converted column whose table is gone fails the worker's task, saying so", {
  name <- unique_name("psock-converted-gone")
  table <- publish_table(name, data.frame(ok = c(TRUE, NA, FALSE), day = as.Date(c("2024-01-01", NA, "2024-01-03"))))
  frame <- open_table(name)
  close(table)
  cluster <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  count <- function(x) sum(!is.na(x))
  environment(count) <- globalenv()
  for (column in c("ok", "day")) {
    err <- tryCatch(parallel::clusterCall(cluster, count, frame[[column]]), error = function(e) e)
    expect_match(conditionMessage(err), "No such file or directory", info = column)
  }
  expect_equal(parallel::clusterEvalQ(cluster, 1 + 1)[[1]], 2)
})

test_that("a worker converts only the converted columns it receives, each when it first arrives", {
  name <- unique_name("psock-converted-lazy")
  n <- 2e6
  frame <- data.frame(x = as.numeric(seq_len(n)),
                      a = as.POSIXct(seq_len(n), origin = "1970-01-01", tz = "UTC"),
                      b = as.POSIXct(seq_len(n) + 10, origin = "1970-01-01", tz = "UTC"),
                      d = as.Date(seq_len(n) %% 1000, origin = "2000-01-01"))
  table <- publish_table(name, frame)
  on.exit(close(table), add = TRUE)
  shared <- open_table(name)
  cluster <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  # What the worker's process holds of the table: the columns converted so far.
  converted <- function() {
    table <- get(".opened", asNamespace("shmpipe"))[[name]]
    names(Filter(Negate(is.null), unclass(table[[1]])))
  }
  environment(converted) <- list2env(list(name = name), parent = globalenv())
  a <- shared$a
  parallel::clusterExport(cluster, "a", envir = environment())
  expect_equal(parallel::clusterCall(cluster, converted)[[1]], c("x", "a")) # x is a view: no conversion
  d <- shared$d
  parallel::clusterExport(cluster, "d", envir = environment())
  expect_equal(parallel::clusterCall(cluster, converted)[[1]], c("x", "a", "d"))
  expect_equal(parallel::clusterEvalQ(cluster, c(format(max(a)), format(max(d))))[[1]],
               c(format(max(frame$a)), format(max(frame$d))))
})

test_that("a converted column that was read (by R's C code too) still travels by name", {
  name <- unique_name("psock-converted-read")
  n <- 1e6
  table <- publish_table(name, data.frame(ts = as.POSIXct(seq_len(n), origin = "1970-01-01", tz = "UTC"),
                                          q = bit64::as.integer64(seq_len(n)) * 5000000000))
  on.exit(close(table), add = TRUE)
  shared <- open_table(name)
  invisible(list(mean(shared$ts), format(shared$ts[1:10]), sort(shared$ts), range(shared$ts),
                 as.character(shared$q[1:10]), max(shared$q), shared$q + 1L))
  expect_lt(length(serialize(shared, NULL)), 1024)
})

test_that("a column sent again with other attributes leaves the one the worker received before as it was", {
  name <- unique_name("psock-attributes")
  table <- publish_table(name, data.frame(x = c(1.5, 2.5), day = as.Date(c("2024-01-01", "2024-01-02"))))
  on.exit(close(table), add = TRUE)
  shared <- open_table(name)
  cluster <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cluster), add = TRUE)
  for (column in c("x", "day")) {
    first <- shared[[column]]
    parallel::clusterExport(cluster, "first", envir = environment())
    data.table::setattr(shared[[column]], "label", "changed") # in place, as C code may
    second <- shared[[column]]
    parallel::clusterExport(cluster, "second", envir = environment())
    got <- parallel::clusterEvalQ(cluster, list(attr(first, "label"), attr(second, "label"), sum(as.numeric(second))))[[1]]
    expect_equal(got, list(NULL, "changed", sum(as.numeric(shared[[column]]))), info = column)
  }
})
