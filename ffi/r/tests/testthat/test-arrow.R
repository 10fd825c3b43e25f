test_that("a data.frame R writes comes back equal, doubles and integers in place", {
  name <- unique_name("roundtrip")
  reader <- shm_reader(name, create = TRUE, capacity = 1e6)
  writer <- shm_writer(name)
  frame <- sample_frame()
  write_batch(writer, frame)
  write_batch(writer, frame[2:1, ])
  close(writer)
  first <- read_batch(reader, timeout = 2)
  expect_true(is_shared(first$price))
  expect_true(is_shared(first$qty))
  expect_equal(first, frame)
  second <- read_batch(reader, timeout = 2)
  expect_equal(second, frame[2:1, ], ignore_attr = "row.names")
  expect_null(read_batch(reader, timeout = 2))
  release_batch(first)
  expect_false(is_shared(first$price)) # copied before the record went back
  expect_equal(first$price, frame$price)
  close(reader)
})

test_that("R never writes into shared memory: changing a column copies it", {
  name <- unique_name("cow")
  reader <- shm_reader(name, create = TRUE, capacity = 1e6)
  writer <- shm_writer(name)
  write_batch(writer, data.frame(x = c(1, 2, 3)))
  write_batch(writer, data.frame(x = c(1, 2, 3)))
  batch <- read_batch(reader, timeout = 2)
  column <- batch$x
  column[1] <- 99
  expect_equal(column, c(99, 2, 3))
  expect_true(is_shared(batch$x))   # the batch's column is untouched
  expect_equal(batch$x, c(1, 2, 3))
  other <- shm_reader(name)         # another reader sees what the writer wrote
  close(writer)
  expect_equal(read_batch(other, timeout = 2)$x, c(1, 2, 3))
  # The ring is mapped read only in a reader that opened it: a write would fault.
  maps <- readLines(sprintf("/proc/%d/maps", Sys.getpid()))
  mine <- grep(paste0("shmpipe.", name), maps, value = TRUE)
  expect_true(any(grepl(" r--s ", mine)))
  close(other)
  close(reader)
})

test_that("a batch's record goes back to the writer when its columns are collected", {
  name <- unique_name("gc")
  reader <- shm_reader(name, create = TRUE, capacity = 16384)
  writer <- shm_writer(name)
  big <- data.frame(x = as.numeric(seq_len(1000)))  # 8 KB: one fits, two do not
  write_batch(writer, big)
  batch <- read_batch(reader, timeout = 2)
  full <- tryCatch(write_batch(writer, big, timeout = 0.1), shmpipe_error = function(e) e)
  expect_equal(full$name, "ETIMEOUT")
  rm(batch)
  invisible(gc())
  write_batch(writer, big, timeout = 2)
  expect_equal(sum(read_batch(reader, timeout = 2)$x), sum(big$x))
  close(writer)
  close(reader)
})

test_that("columns R cannot write are refused with a sentence naming them", {
  name <- unique_name("refused")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  writer <- shm_writer(name)
  err <- tryCatch(write_batch(writer, data.frame(z = c(1i, 2i))), shmpipe_error = function(e) e)
  expect_equal(err$name, "EBADARG")
  expect_match(err$message, 'Column "z" cannot be written', fixed = TRUE)
  close(writer)
  close(reader)
})

test_that("a reader that joins mid-stream gets the schema again with the next batch", {
  name <- unique_name("late")
  early <- shm_reader(name, create = TRUE, capacity = 32768)
  writer <- shm_writer(name)
  batch_of <- function(k) data.frame(x = rep(as.numeric(k), 600)) # 4.8 KB: the ring wraps every few
  # Batches written, read and given back until the ring wrapped: the start
  # a joining reader gets has moved past the schema.
  for (k in 1:16) {
    write_batch(writer, batch_of(k))
    batch <- read_batch(early, timeout = 2)
    expect_equal(batch$x[1], k)
    release_batch(batch)
  }
  late <- shm_reader(name)
  write_batch(writer, batch_of(17))
  close(writer)
  expect_equal(read_batch(late, timeout = 2)$x[1], 17)
  expect_null(read_batch(late, timeout = 2))
  expect_equal(read_batch(early, timeout = 2)$x[1], 17)
  close(late)
  close(early)
})

test_that("a channel's string columns are R strings at once (R's loops over them are faster)", {
  name <- unique_name("strings")
  reader <- shm_reader(name, create = TRUE, capacity = 1e6)
  writer <- shm_writer(name)
  words <- c("alpha", NA, "gamma é", "", strrep("x", 1000))
  write_batch(writer, data.frame(w = words, stringsAsFactors = FALSE))
  close(writer)
  batch <- read_batch(reader, timeout = 2)
  expect_false(is_shared(batch$w))
  expect_equal(batch$w, words)
  close(reader)
})

test_that("each_batch() calls a function on every batch and gives each record back", {
  name <- unique_name("each")
  reader <- shm_reader(name, create = TRUE, capacity = 32768)
  writer <- shm_writer(name)
  kept <- list()
  # 8 KB batches in a 32 KB ring: the fifth fits only if records came back.
  producer <- function(k) write_batch(writer, data.frame(x = rep(as.numeric(k), 1000)), timeout = 2)
  producer(1)
  seen <- 0
  count <- each_batch(reader, function(batch) {
    seen <<- seen + sum(batch$x)
    kept[[length(kept) + 1]] <<- batch$x # kept past the batch: copied, not lost
    if (length(kept) < 5) producer(length(kept) + 1) else close(writer)
  }, timeout = 2)
  expect_equal(count, 5)
  expect_equal(seen, 1000 * sum(1:5))
  expect_equal(vapply(kept, function(x) x[1], 0), as.numeric(1:5))
  expect_false(any(vapply(kept, is_shared, NA)))
  close(reader)
})
