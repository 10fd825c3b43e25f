unique_name <- local({
  counter <- 0
  function(label) {
    counter <<- counter + 1
    sprintf("r%d-%d-%s", Sys.getpid(), counter, label)
  }
})

test_that("bytes go through a channel and the stream ends when the writer closes", {
  name <- unique_name("bytes")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  writer <- shm_writer(name)
  send_bytes(writer, "hello")
  send_bytes(writer, as.raw(c(0, 255)))
  close(writer)
  expect_equal(rawToChar(recv_bytes(reader, timeout = 1)), "hello")
  expect_equal(recv_bytes(reader, timeout = 1), as.raw(c(0, 255)))
  expect_null(recv_bytes(reader, timeout = 1))
  close(reader)
  expect_false(file.exists(file.path("/dev/shm", paste0("shmpipe.", name))))
})

test_that("errors are shmpipe_error conditions with the core's code and sentence", {
  err <- tryCatch(shm_reader("no-such-channel-here"), shmpipe_error = function(e) e)
  expect_s3_class(err, "shmpipe_error")
  expect_equal(err$name, "ENOENT")
  expect_equal(err$op, "open")
  expect_equal(err$segment, "no-such-channel-here")
  expect_match(conditionMessage(err), "start the side that creates it first", fixed = TRUE)
  bad <- tryCatch(shm_writer("bad/name", create = TRUE), shmpipe_error = function(e) e)
  expect_equal(bad$name, "EINVAL")
  expect_match(bad$message, "1-200 characters", fixed = TRUE)
})

test_that("a wait times out with ETIMEOUT and a closed end says so", {
  name <- unique_name("timeout")
  reader <- shm_reader(name, create = TRUE, capacity = 4096)
  writer <- shm_writer(name)
  started <- Sys.time()
  err <- tryCatch(recv_bytes(reader, timeout = 0.2), shmpipe_error = function(e) e)
  expect_equal(err$name, "ETIMEOUT")
  expect_lt(as.numeric(Sys.time() - started, units = "secs"), 2)
  close(writer)
  closed <- tryCatch(send_bytes(writer, "x"), shmpipe_error = function(e) e)
  expect_equal(closed$name, "ECLOSED")
  close(reader)
})

test_that("print shows the channel and its state", {
  name <- unique_name("print")
  reader <- shm_reader(name, create = TRUE, capacity = 4096)
  expect_output(print(reader), sprintf("<shmpipe reader of \"%s\", open>", name), fixed = TRUE)
  close(reader)
  expect_output(print(reader), "closed", fixed = TRUE)
})
