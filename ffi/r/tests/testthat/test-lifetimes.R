# What a reader's and a writer's close() promise, and what write_batch()
# refuses or keeps (from a review of the package's C code).

test_that("close() of a reader copies the columns of its batches still alive", {
  name <- unique_name("close-reader")
  first <- shm_reader(name, create = TRUE, capacity = 32768)
  other <- shm_reader(name)
  writer <- shm_writer(name)
  write_batch(writer, data.frame(x = as.numeric(1:1000)))
  batch <- read_batch(first, timeout = 2)
  close(first) # the writer may reuse the record now
  expect_false(is_shared(batch$x))
  for (k in 2:12) { # 8 KB batches in a 32 KB ring: the first record is reused
    write_batch(writer, data.frame(x = rep(as.numeric(k), 1000)), timeout = 2)
    release_batch(read_batch(other, timeout = 2))
  }
  expect_equal(batch$x, as.numeric(1:1000))
  close(writer)
  close(other)
})

test_that("a writer's close() says when no reader ever read what it wrote, and removes the name", {
  name <- unique_name("unread")
  writer <- shm_writer(name, create = TRUE, capacity = 65536)
  write_batch(writer, data.frame(x = 1:3))
  err <- tryCatch(close(writer, timeout = 0.2), shmpipe_error = function(e) e)
  expect_s3_class(err, "shmpipe_error")
  expect_equal(err$name, "EUNREAD")
  expect_false(file.exists(shm_file(name)))
})

test_that("a reader that created the channel reads it through a read-only mapping", {
  name <- unique_name("created-reader")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  writer <- shm_writer(name)
  write_batch(writer, data.frame(x = c(1, 2)))
  batch <- read_batch(reader, timeout = 2)
  maps <- grep(paste0("shmpipe.", name), readLines(sprintf("/proc/%d/maps", Sys.getpid())), value = TRUE)
  expect_true(any(grepl(" r--s ", maps))) # the ring as this reader sees it
  expect_true(is_shared(batch$x))
  close(writer)
  close(reader)
})

test_that("write_batch() refuses columns of another length than the first, naming them", {
  name <- unique_name("lengths")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  writer <- shm_writer(name)
  odd <- structure(list(x = 1:6, y = 42), class = "data.frame", row.names = 1:6)
  err <- tryCatch(write_batch(writer, odd), shmpipe_error = function(e) e)
  expect_equal(err$name, "EBADARG")
  expect_match(err$message, 'Column "y" cannot be written: it has 1 values, the first column 6', fixed = TRUE)
  close(writer)
  close(reader)
})

test_that("writing a batch read from another channel does not copy its columns", {
  a <- unique_name("forward-a")
  b <- unique_name("forward-b")
  reader_a <- shm_reader(a, create = TRUE, capacity = 65536)
  writer_a <- shm_writer(a)
  reader_b <- shm_reader(b, create = TRUE, capacity = 65536)
  writer_b <- shm_writer(b)
  write_batch(writer_a, data.frame(x = c(1.5, 2.5), n = 1:2))
  batch <- read_batch(reader_a, timeout = 2)
  write_batch(writer_b, batch)
  expect_true(is_shared(batch$x))
  expect_true(is_shared(batch$n))
  expect_equal(read_batch(reader_b, timeout = 2), batch)
  for (end in list(writer_a, writer_b, reader_a, reader_b)) close(end)
})

test_that("a change of a POSIXct column's time zone goes to the readers", {
  name <- unique_name("tzone")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  writer <- shm_writer(name)
  at <- as.POSIXct(0, origin = "1970-01-01", tz = "UTC")
  write_batch(writer, data.frame(at = at))
  write_batch(writer, data.frame(at = as.POSIXct(format(at, tz = "Asia/Tokyo"), tz = "Asia/Tokyo")))
  close(writer)
  expect_equal(attr(read_batch(reader, timeout = 2)$at, "tzone"), "UTC")
  expect_equal(attr(read_batch(reader, timeout = 2)$at, "tzone"), "Asia/Tokyo")
  close(reader)
})

test_that("a reader that joined while the writer could not send still gets the schema", {
  name <- unique_name("owed")
  frame <- data.frame(x = as.numeric(1:100))
  writer <- shm_writer(name, create = TRUE, capacity = 4096)
  first <- shm_reader(name)
  write_batch(writer, frame)
  release_batch(read_batch(first, timeout = 2)) # released: a reader attaching now joins mid-stream
  full <- function() tryCatch({ send_bytes(writer, raw(8), timeout = 0.05); FALSE }, shmpipe_error = function(e) TRUE)
  while (!full()) NULL
  late <- shm_reader(name)
  expect_error(write_batch(writer, frame, timeout = 0.1), class = "shmpipe_error") # the ring is full
  # Reads (and gives back) what is there: batches, and bytes refused as not Arrow.
  drain <- function(reader) for (k in 1:200) tryCatch(release_batch(read_batch(reader, timeout = 0.01)), shmpipe_error = function(e) NULL)
  drain(first)
  drain(late)
  write_batch(writer, frame, timeout = 1) # owes the late reader the schema still
  expect_equal(nrow(read_batch(late, timeout = 1)), 100)
  close(writer, timeout = 0)
  close(late)
  close(first)
})

test_that("unpublish_table() refuses a channel", {
  name <- unique_name("not-a-table")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  err <- tryCatch(unpublish_table(name), shmpipe_error = function(e) e)
  expect_equal(err$name, "EBADARG")
  expect_true(file.exists(shm_file(name)))
  close(reader)
})

test_that("a forked child ended by SIGTERM leaves its parent's names (the core keys them by pid)", {
  name <- unique_name("forked")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  on.exit(close(reader), add = TRUE)
  child <- parallel::mcparallel({
    tools::pskill(Sys.getpid(), tools::SIGTERM)
    Sys.sleep(5)
  })
  suppressWarnings(parallel::mccollect(child, wait = TRUE)) # "did not deliver a result": it died by the signal
  expect_true(file.exists(shm_file(name)))
  close(reader)
  expect_false(file.exists(shm_file(name)))
})

test_that("the end of the session removes the names it still owns; a persistent table's stays", {
  channel <- unique_name("session-end")
  table <- unique_name("session-end-kept")
  script <- sprintf('library(shmpipe); r <- shm_reader("%s", create = TRUE, capacity = 65536); publish_table("%s", data.frame(x = 1), persistent = TRUE); cat(file.exists("%s"))',
                    channel, table, shm_file(channel))
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(script)), stdout = TRUE)
  on.exit(unlink(shm_file(table)), add = TRUE)
  expect_equal(out, "TRUE")
  expect_false(file.exists(shm_file(channel)))
  expect_true(file.exists(shm_file(table)))
})

test_that("a forked child that collects its copy of the parent's ends and tables leaves their names", {
  channel <- unique_name("forked-gc")
  table <- unique_name("forked-gc-table")
  reader <- shm_reader(channel, create = TRUE, capacity = 65536)
  published <- publish_table(table, data.frame(x = 1:3))
  on.exit({ close(reader); close(published) }, add = TRUE)
  child <- parallel::mcparallel({ # evaluated in this test's environment, in the child
    rm(reader, published)
    rm(list = table, envir = shmpipe:::.published)
    invisible(gc()) # the finalizers run here, in the child
    TRUE
  })
  expect_true(isTRUE(parallel::mccollect(child, wait = TRUE)[[1]]))
  expect_true(file.exists(shm_file(channel)))
  expect_true(file.exists(shm_file(table)))
})

test_that("a creating writer's close says once what it waits for when no reader ever came", {
  name <- unique_name("linger-notice")
  writer <- shm_writer(name, create = TRUE, capacity = 65536)
  send_bytes(writer, "lost")
  messages <- capture.output(err <- tryCatch(close(writer, timeout = 1.2), shmpipe_error = function(e) e), type = "message")
  expect_equal(err$name, "EUNREAD")
  expect_equal(length(messages), 1)
  expect_match(messages, sprintf('closing "%s" waits up to', name), fixed = TRUE)
})

# Batches above the size where each_batch() asks the collector which
# columns its function kept (12 MiB: 2^20 doubles and integers).
big_batch <- function(k, rows = 2^20) data.frame(x = seq_len(rows) + k * 1e7, n = seq_len(rows) + as.integer(k))

test_that("each_batch() gives a batch back without copying it when its function kept no column", {
  name <- unique_name("each-unkept")
  reader <- shm_reader(name, create = TRUE, capacity = 64 * 2^20)
  writer <- shm_writer(name)
  for (k in 1:3) write_batch(writer, big_batch(k))
  close(writer)
  before <- shmpipe:::copied_bytes()
  sums <- numeric(0)
  expect_equal(each_batch(reader, function(b) sums[length(sums) + 1] <<- sum(b$x), timeout = 2), 3)
  expect_equal(sums, vapply(1:3, function(k) sum(big_batch(k)$x), 0))
  expect_equal(shmpipe:::copied_bytes() - before, 0) # nothing copied: the records went back as they were
  close(reader)
})

test_that("a column each_batch()'s function kept is copied and keeps its values after the writer reused the ring", {
  name <- unique_name("each-kept")
  reader <- shm_reader(name, create = TRUE, capacity = 30 * 2^20) # two batches: the third reuses the first's record
  writer <- shm_writer(name)
  batches <- lapply(1:5, big_batch) # made now: no collection while a batch is in use moves its views to an older generation
  write_batch(writer, batches[[1]])
  kept <- list()
  before <- shmpipe:::copied_bytes()
  seen <- 0
  each_batch(reader, function(b) {
    seen <<- seen + 1
    if (seen == 1) kept$x <<- b$x # one column of the first batch; the others go back uncopied
    if (seen < 5) write_batch(writer, batches[[seen + 1]], timeout = 2) else close(writer)
  }, timeout = 2)
  expect_equal(seen, 5)
  expect_false(is_shared(kept$x))
  expect_equal(shmpipe:::copied_bytes() - before, 8 * 2^20) # the kept column alone
  expect_equal(kept$x, batches[[1]]$x)
  close(reader)
})
