# Every Arrow type R users meet, written by pyarrow through the Python
# binding and read by R as the conversion table of ?read_batch says.

test_that("every type in the table is read as the table says, nulls, empty lists and nested nulls included", {
  reader <- python_stream("types", c(type_matrix, "batches = [full]"))
  on.exit(close(reader))
  batch <- read_batch(reader, timeout = 2)
  expected <- expected_full()
  expect_equal(names(batch), names(expected))
  for (column in names(expected)) expect_equal(batch[[column]], plain(expected[[column]]), info = column)
  expect_true(is.data.frame(batch$st))
  expect_equal(nrow(batch), 4)
})

test_that("a slice (arrays with offsets) reads as the same rows", {
  reader <- python_stream("types-sliced", c(type_matrix, "batches = [full.slice(1, 3)]"))
  on.exit(close(reader))
  batch <- read_batch(reader, timeout = 2)
  expected <- expected_full()
  for (column in names(expected)) {
    want <- plain(expected[[column]])
    want <- if (is.data.frame(want)) { w <- want[2:4, , drop = FALSE]; row.names(w) <- NULL; w } else want[2:4]
    expect_equal(batch[[column]], want, info = column)
  }
})

test_that("a published table's columns of every type read the same as a channel's", {
  name <- unique_name("types-table")
  script <- tempfile(fileext = ".py")
  on.exit(unlink(script))
  writeLines(c("import datetime, decimal, sys, time", "import pyarrow as pa", "import shmpipe", type_matrix,
               sprintf("t = shmpipe.publish('%s', pa.Table.from_batches([full]))", name),
               "print('published', file=sys.stderr, flush=True)", "sys.stdin.readline()"), script)
  python <- pipe(sprintf("PYTHONPATH=%s %s %s 2>/dev/null", file.path(repo_root(), "ffi/python"),
                         file.path(repo_root(), ".venv/bin/python"), script), open = "w")
  on.exit(close(python), add = TRUE)
  deadline <- Sys.time() + 20
  while (!file.exists(shm_file(name)) && Sys.time() < deadline) Sys.sleep(0.05)
  table <- open_table(name, wait = 5)
  expected <- expected_full()
  for (column in names(expected)) expect_equal(table[[column]], plain(expected[[column]]), info = column)
})

test_that("the conversions hold under gctorture (a small input)", {
  reader <- python_stream("types-torture", c(type_matrix, "batches = [full.slice(0, 2)]"))
  on.exit(close(reader))
  gctorture(TRUE)
  batch <- read_batch(reader, timeout = 2)
  gctorture(FALSE)
  expected <- expected_full()
  for (column in names(expected)) {
    want <- plain(expected[[column]])
    want <- if (is.data.frame(want)) want[1:2, , drop = FALSE] else want[1:2]
    expect_equal(batch[[column]], want, info = column)
  }
})
