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
  # Every column but lists and data.frames serializes by name (its class,
  # not its values, is in the bytes) and comes back with its values.
  for (column in names(expected)) {
    if (is.list(table[[column]])) next
    bytes <- serialize(table[[column]], NULL)
    expect_true(length(grepRaw("shmpipe_", bytes)) > 0, info = column)
    expect_equal(unserialize(bytes), plain(expected[[column]]), info = column)
  }
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

nested_frame <- function() {
  df <- data.frame(x = 1:3)
  df$l <- list(c(1.5, NA), NULL, numeric(0))
  df$ls <- list("a", c("b", NA), character(0))
  df$b <- list(as.raw(c(0, 255)), NULL, raw(0))
  df$st <- data.frame(a = c(1L, NA, 3L), s = c("p", "q", NA))
  df$ll <- list(list(1L, 2:3), NULL, list())
  df$ls2 <- list(data.frame(k = "a", v = 1), NULL, data.frame(k = character(0), v = numeric(0)))
  df
}

test_that("R writes list, data.frame and raw-list columns that come back as they were", {
  name <- unique_name("nested-roundtrip")
  reader <- shm_reader(name, create = TRUE, capacity = 1e6)
  on.exit(close(reader))
  writer <- shm_writer(name)
  df <- nested_frame()
  write_batch(writer, df)
  write_batch(writer, df[3:2, ]) # the same types: no schema again
  df2 <- df
  df2$l <- list(1L, 2L, NULL)    # list<int32> now: the schema goes again
  write_batch(writer, df2)
  err <- tryCatch(write_batch(writer, data.frame(z = I(list(1, "a", sin)))), shmpipe_error = function(e) e)
  expect_match(conditionMessage(err), 'Column "z" cannot be written', fixed = TRUE)
  err <- tryCatch(write_batch(writer, data.frame(z = I(list(1, list(2, sin))))), shmpipe_error = function(e) e)
  expect_match(conditionMessage(err), 'Column "z.item" cannot be written', fixed = TRUE)
  close(writer)
  expect_equal(read_batch(reader, timeout = 2), df)
  expect_equal(read_batch(reader, timeout = 2), df[3:2, ], ignore_attr = "row.names")
  expect_equal(read_batch(reader, timeout = 2), df2)
})

test_that("pyarrow reads R's list, struct and binary columns as their Arrow types", {
  name <- unique_name("nested-to-py")
  reader_script <- tempfile(fileext = ".py")
  on.exit(unlink(reader_script))
  writeLines(c("import json, sys", "import shmpipe",
               "with shmpipe.ArrowReader(shmpipe.create_reader(sys.argv[1], 1 << 20)) as r:",
               "    print('ready', flush=True)",
               "    b = r.read(timeout=20)",
               "    print(json.dumps({'schema': {f.name: str(f.type) for f in b.schema},",
               "                      'rows': [{k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()} for row in b.to_pylist()]}))"),
             reader_script)
  out <- tempfile()
  on.exit(unlink(out), add = TRUE)
  python <- processx_free_spawn(file.path(repo_root(), ".venv/bin/python"), c(reader_script, name), out)
  deadline <- Sys.time() + 20
  while (!file.exists(shm_file(name)) && Sys.time() < deadline) Sys.sleep(0.05)
  if (!file.exists(shm_file(name))) stop("the Python reader did not start:\n", paste(readLines(out), collapse = "\n"))
  writer <- shm_writer(name)
  write_batch(writer, nested_frame())
  close(writer)
  python()
  result <- jsonlite_free_parse(readLines(out))
  expect_match(result, '"l": "list<item: double>"', fixed = TRUE)
  expect_match(result, '"b": "binary"', fixed = TRUE)
  expect_match(result, '"st": "struct<a: int32, s: string>"', fixed = TRUE)
  expect_match(result, '"ll": "list<item: list<item: int32>>"', fixed = TRUE)
  expect_match(result, '"ls2": "list<item: struct<k: string, v: double>>"', fixed = TRUE)
  expect_match(result, '"l": [1.5, null], "ls": ["a"], "b": "00ff", "st": {"a": 1, "s": "p"}, "ll": [[1], [2, 3]], "ls2": [{"k": "a", "v": 1.0}]', fixed = TRUE)
  expect_match(result, '"l": null, "ls": ["b", null], "b": null, "st": {"a": null, "s": "q"}, "ll": null, "ls2": null', fixed = TRUE)
})

test_that("a published table keeps list, data.frame and raw-list columns", {
  name <- unique_name("nested-table")
  published <- publish_table(name, nested_frame())
  on.exit(close(published))
  expect_equal(open_table(name), nested_frame())
})

test_that("writing and reading nested columns hold under gctorture (a small input)", {
  name <- unique_name("nested-torture")
  reader <- shm_reader(name, create = TRUE, capacity = 1e6)
  on.exit(close(reader))
  writer <- shm_writer(name)
  df <- nested_frame()[1:2, ]
  gctorture(TRUE)
  write_batch(writer, df)
  back <- read_batch(reader, timeout = 2)
  gctorture(FALSE)
  close(writer)
  expect_equal(back, df, ignore_attr = "row.names")
})

test_that("decimal32 and decimal64, run ends of int16 and int64, and dictionaries of structs read as the table says", {
  reader <- python_stream("types-more", c(
    "ree = lambda t: pa.RunEndEncodedArray.from_arrays(pa.array([1, 3], t), pa.array([1.5, None]))",
    "batches = [pa.record_batch({",
    "  'd32': pa.array([decimal.Decimal('1.25'), None, decimal.Decimal('-0.5')], pa.decimal32(5, 2)),",
    "  'd64': pa.array([decimal.Decimal('-12345.678'), decimal.Decimal('0'), None], pa.decimal64(12, 3)),",
    "  'r16': ree(pa.int16()), 'r64': ree(pa.int64()),",
    "  'ds': pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.int32()), pa.array([{'a': 1}, {'a': None}], pa.struct([('a', pa.int32())]))),",
    "})]"))
  on.exit(close(reader))
  batch <- read_batch(reader, timeout = 2)
  expect_equal(batch$d32, c(1.25, NA, -0.5))
  expect_equal(batch$d64, c(-12345.678, 0, NA))
  expect_identical(batch$r16, c(1.5, NA, NA))
  expect_identical(batch$r64, c(1.5, NA, NA))
  expect_equal(batch$ds, data.frame(a = c(NA, NA, 1L)))
})
