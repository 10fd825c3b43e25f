# future's multisession workers get a published table by name, whatever
# the size future's check of globals (future.globals.maxSize) counts.

test_that("two multisession futures use a 1 GiB published table as a global: a few KB sent each, right sums", {
  name <- unique_name("future")
  columns <- 16
  rows <- 2^23 # 16 columns x 8 Mi rows x 8 bytes = 1 GiB, over future's 500 MiB
  frame <- as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(seq_len(rows)) * k),
                                  sprintf("f%02d", seq_len(columns))))
  table <- publish_table(name, frame)
  on.exit(close(table), add = TRUE)
  rm(frame)
  invisible(gc())
  features <- open_table(name)
  expect_lt(length(serialize(features, NULL)), 4096) # what a future sends of it
  old <- options(future.globals.maxSize = NULL) # future's default, 500 MiB
  on.exit(options(old), add = TRUE)
  on.exit(future::plan(future::sequential), add = TRUE)
  future::plan(future::multisession, workers = 2)
  shm_future_allow(features)
  half <- columns / 2
  futures <- lapply(1:2, function(w) {
    k <- (w - 1) * half + seq_len(half)
    future::future(vapply(k, function(j) sum(features[[j]]), 0), globals = list(features = features, k = k))
  })
  sums <- unlist(lapply(futures, future::value))
  expect_equal(sums, as.numeric(rows) * (rows + 1) / 2 * seq_len(columns))
  # Each future's globals as they are sent: the table by name.
  expect_lt(length(serialize(list(features = features, k = 1:8), NULL)), 4096)
  pids <- unlist(lapply(1:2, function(w) future::value(future::future(Sys.getpid()))))
  expect_false(Sys.getpid() %in% pids) # other processes
})

test_that("shm_future_allow() raises the limit for the tables only: another large global is still refused", {
  name <- unique_name("future-limit")
  table <- publish_table(name, data.frame(x = as.numeric(seq_len(2^20)))) # 8 MiB
  on.exit(close(table), add = TRUE)
  features <- open_table(name)
  old <- options(future.globals.maxSize = 1024^2) # 1 MiB
  on.exit(options(old), add = TRUE)
  on.exit(future::plan(future::sequential), add = TRUE)
  future::plan(future::multisession, workers = 1)
  shm_future_allow(features)
  expect_equal(future::value(future::future(sum(features$x), globals = list(features = features))),
               2^20 * (2^20 + 1) / 2)
  plain <- as.numeric(seq_len(2^21)) # 16 MiB sent by value: over the limit raised by 8 MiB
  expect_error(future::future(sum(plain), globals = list(plain = plain)), "future.globals.maxSize")
})
