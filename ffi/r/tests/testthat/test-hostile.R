# What R gets from a segment or a message it must not trust: a
# shmpipe_error naming the cause, never a crash of R.

test_that("a file that is not a shmpipe segment is refused", {
  name <- unique_name("garbage")
  writeBin(as.raw(rep(0xAB, 8192)), shm_file(name))
  on.exit(unlink(shm_file(name)))
  err <- tryCatch(shm_reader(name), shmpipe_error = function(e) e)
  expect_s3_class(err, "shmpipe_error")
  expect_equal(err$name, "EBADMAGIC")
  expect_equal(err$segment, name)
  expect_s3_class(tryCatch(open_table(name), shmpipe_error = function(e) e), "shmpipe_error")
})

test_that("records that are not Arrow messages, or cut short, are refused and the stream goes on", {
  name <- unique_name("hostile")
  reader <- shm_reader(name, create = TRUE, capacity = 1e6)
  writer <- shm_writer(name)
  # A valid stream to take a real batch message from.
  source <- unique_name("source")
  copy <- shm_reader(source, create = TRUE, capacity = 1e6)
  source_writer <- shm_writer(source)
  write_batch(source_writer, data.frame(x = c(1, 2, 3)))
  close(source_writer)
  schema <- recv_bytes(copy, timeout = 2)
  batch <- recv_bytes(copy, timeout = 2)
  close(copy)
  send_bytes(writer, schema)
  send_bytes(writer, as.raw(sample(0:255, 200, replace = TRUE)))  # noise
  send_bytes(writer, batch[seq_len(length(batch) - 16)])            # a batch cut short
  send_bytes(writer, batch)                                         # then a good one
  close(writer)
  for (i in 1:2) {
    err <- tryCatch(read_batch(reader, timeout = 2), shmpipe_error = function(e) e)
    expect_s3_class(err, "shmpipe_error")
    expect_equal(err$name, "EARROW")
    expect_equal(err$segment, name)
  }
  expect_equal(read_batch(reader, timeout = 2)$x, c(1, 2, 3))
  expect_null(read_batch(reader, timeout = 2))
  close(reader)
})

test_that("bodies of every type, bytes changed at random, give batches or errors, never a crash", {
  # The type matrix as pyarrow writes it, taken record by record.
  source <- python_stream("hostile-types-source", c(type_matrix, "batches = [full]"))
  schema <- recv_bytes(source, timeout = 2)
  dictionary <- recv_bytes(source, timeout = 2)
  batch <- recv_bytes(source, timeout = 2)
  close(source)
  body <- 8 + readBin(batch[5:8], "integer", size = 4)
  name <- unique_name("hostile-types")
  reader <- shm_reader(name, create = TRUE, capacity = 4e6)
  on.exit(close(reader))
  writer <- shm_writer(name)
  send_bytes(writer, schema)
  send_bytes(writer, dictionary)
  set.seed(17)
  outcomes <- character(0)
  for (round in 1:150) {
    changed <- batch
    at <- body + sample(length(batch) - body, 4)
    changed[at] <- as.raw(sample(0:255, 4, replace = TRUE))
    send_bytes(writer, changed)
    got <- tryCatch(read_batch(reader, timeout = 2), shmpipe_error = function(e) e)
    outcomes <- c(outcomes, if (inherits(got, "shmpipe_error")) got$name else "batch")
  }
  send_bytes(writer, batch)
  expect_equal(names(read_batch(reader, timeout = 2)), names(expected_full())) # the stream goes on
  close(writer)
  expect_true(all(outcomes %in% c("batch", "EARROW", "ETYPE")))
  expect_true(any(outcomes == "batch"))
})
