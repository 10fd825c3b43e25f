test_that("a published table opens as a data.frame whose numeric columns are the table's memory", {
  name <- unique_name("table")
  frame <- sample_frame()
  table <- publish_table(name, frame)
  expect_output(print(table), sprintf('<shmpipe table "%s": 4 rows, 7 columns, published>', name), fixed = TRUE)
  opened <- open_table(name)
  expect_true(is_shared(opened$price))
  expect_true(is_shared(opened$qty))
  expect_equal(opened, frame)
  # Read only: the table is mapped r--s in a process that opened it.
  maps <- grep(paste0("shmpipe.", name), readLines(sprintf("/proc/%d/maps", Sys.getpid())), value = TRUE)
  expect_true(any(grepl(" r--s ", maps)))
  close(table)
  expect_false(file.exists(shm_file(name)))
  expect_equal(opened$price, frame$price) # the mapping outlives the name
  expect_output(print(table), "closed")
})

test_that("a column of a published table serializes by name, in about a hundred bytes", {
  name <- unique_name("byname")
  table <- publish_table(name, data.frame(x = as.numeric(seq_len(1e6)), n = seq_len(1e6)))
  opened <- open_table(name)
  bytes <- serialize(opened$x, NULL)
  expect_lt(length(bytes), 300)
  expect_lt(length(serialize(opened, NULL)), 1000)
  back <- unserialize(bytes)
  expect_true(is_shared(back))
  expect_equal(sum(back), sum(as.numeric(seq_len(1e6))))
  # A column that was changed is the user's own copy: it serializes its values.
  changed <- opened$n
  changed[1] <- -1L
  expect_gt(length(serialize(changed, NULL)), 4e6)
  expect_equal(unserialize(serialize(changed, NULL))[1:2], c(-1L, 2L))
  close(table)
})

test_that("a column serialized by name fails loudly, on use, when its table is gone or was published again", {
  name <- unique_name("gone")
  table <- publish_table(name, data.frame(x = c(1, 2, 3)))
  bytes <- serialize(open_table(name)$x, NULL)
  close(table)
  gone <- unserialize(bytes) # a stand-in: an error inside unserialize() would end a PSOCK worker
  expect_equal(length(gone), 3)
  err <- tryCatch(sum(gone), shmpipe_error = function(e) e)
  expect_s3_class(err, "shmpipe_error")
  expect_equal(err$name, "ENOENT")
  expect_error(gone[1], class = "shmpipe_error")
  again <- publish_table(name, data.frame(x = c(1, 2, 3, 4, 5)))
  # Same name, another publication: refused, never another table's values.
  expect_error(sum(unserialize(bytes)), "published again")
  close(again)
})

test_that("tables from other processes open in R; a channel is not a table", {
  name <- unique_name("notatable")
  reader <- shm_reader(name, create = TRUE, capacity = 65536)
  err <- tryCatch(open_table(name), shmpipe_error = function(e) e)
  expect_s3_class(err, "shmpipe_error")
  close(reader)
  missing <- tryCatch(open_table(unique_name("missing")), shmpipe_error = function(e) e)
  expect_equal(missing$name, "ENOENT")
})

test_that("a table that is not there is called a table, and a near name is offered", {
  name <- unique_name("near")
  published <- publish_table(name, data.frame(x = 1:3))
  missing <- tryCatch(open_table(paste0(name, "x")), shmpipe_error = function(e) e)
  expect_equal(missing$name, "ENOENT")
  expect_match(conditionMessage(missing), "No table by that name is published", fixed = TRUE)
  expect_match(conditionMessage(missing), sprintf('Did you mean "%s"?', name), fixed = TRUE)
  close(published)
})

test_that("a persistent table outlives close() until unpublish_table()", {
  name <- unique_name("persistent")
  table <- publish_table(name, data.frame(x = 1:3), persistent = TRUE)
  close(table)
  expect_true(file.exists(shm_file(name)))
  expect_equal(open_table(name)$x, 1:3)
  unpublish_table(name)
  expect_false(file.exists(shm_file(name)))
})

test_that("a string column of a published table serializes by name too", {
  name <- unique_name("strings")
  labels <- sprintf("label number %d", seq_len(1e5))
  table <- publish_table(name, data.frame(label = labels))
  opened <- open_table(name)
  bytes <- serialize(opened$label, NULL)
  expect_lt(length(bytes), 300)
  back <- unserialize(bytes)
  expect_true(is_shared(back))
  expect_equal(back[c(1, 1e5)], labels[c(1, 1e5)])
  close(table)
})

test_that("a table's string column is made element by element, and copied when changed", {
  name <- unique_name("lazy")
  words <- c("alpha", NA, "gamma é", "", strrep("x", 1000), sprintf("w%d", 1:200))
  table <- publish_table(name, data.frame(w = words))
  w <- open_table(name)$w
  expect_true(is_shared(w))
  expect_equal(w[3], "gamma é")
  expect_true(is.na(w[2]))
  expect_true(is_shared(w)) # single elements do not make the column
  expect_equal(w, words)
  changed <- w
  changed[1] <- "changed"
  expect_equal(changed, c("changed", words[-1]))
  expect_equal(w, words)    # the column itself is untouched
  close(table)
})

test_that("a published table's columns serialize in under 200 bytes each, whatever the length of its name", {
  for (length in c(21, 100, 200)) {
    label <- "long-name-"
    name <- unique_name(label)
    name <- paste0(name, strrep("x", length - nchar(name)))
    columns <- 50
    table <- publish_table(name, as.data.frame(setNames(lapply(seq_len(columns), function(k) as.numeric(1:1000) * k),
                                                        sprintf("c%02d", seq_len(columns)))))
    frame <- open_table(name)
    bytes <- length(serialize(frame, NULL))
    expect_lt(bytes / columns, 200, label = sprintf("bytes a column for a %d-character name", length))
    # and back, right
    back <- unserialize(serialize(frame, NULL))
    expect_equal(sum(back$c50), 50 * 500500)
    close(table)
  }
})

test_that("an int32 column of a published table holding -2147483648 serializes by name and is an error where read", {
  name <- unique_name("int-min-table")
  script <- tempfile(fileext = ".py")
  on.exit(unlink(script))
  writeLines(c("import pyarrow as pa, shmpipe",
               sprintf("shmpipe.publish('%s', pa.table({'i': pa.array([5, -2**31, None, 7], pa.int32())}), persist=True)", name)),
               script)
  out <- suppressWarnings(system2(file.path(repo_root(), ".venv/bin/python"), script, stdout = TRUE, stderr = TRUE,
                                  env = paste0("PYTHONPATH=", file.path(repo_root(), "ffi/python"))))
  expect_null(attr(out, "status"))
  on.exit(unpublish_table(name), add = TRUE)
  x <- open_table(name)$i
  expect_true(is_shared(x))
  expect_identical(x[c(1, 3, 4)], c(5L, NA, 7L))
  expect_error(x[2], 'Column "i" holds -2147483648 at row 1', fixed = TRUE, class = "shmpipe_error")
  bytes <- serialize(x, NULL) # by name: no value is read
  expect_lt(length(bytes), 300)
  again <- unserialize(bytes)
  expect_error(sum(again, na.rm = TRUE), 'Column "i" holds -2147483648 at row 1', fixed = TRUE, class = "shmpipe_error")
})
