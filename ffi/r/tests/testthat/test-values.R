# Values R must never get wrong silently (issue 17), fed by pyarrow through
# the Python binding.

test_that("a dictionary R refused makes the batches that use it errors until a good one comes", {
  reader <- python_stream("stale-dict", c(
    "d = lambda codes, words: pa.record_batch({'s': pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(words))})",
    "batches = [d([0, 1], ['a', 'b']), d([1, 0], ['x\\x00y', 'z']), d([0, 1], ['p', 'q'])]"))
  on.exit(close(reader))
  expect_equal(as.character(read_batch(reader, timeout = 2)$s), c("a", "b"))
  refused <- read_outcome(reader) # the replacement dictionary: a NUL in a string
  expect_s3_class(refused, "shmpipe_error")
  expect_match(conditionMessage(refused), "NUL byte", fixed = TRUE)
  stale <- read_outcome(reader) # its batch: never the labels of the dictionary before
  expect_s3_class(stale, "shmpipe_error")
  expect_match(conditionMessage(stale), 'Column "s": its dictionary 0 was refused when it arrived', fixed = TRUE)
  expect_equal(as.character(read_batch(reader, timeout = 2)$s), c("p", "q")) # a good one clears it
})

test_that("dictionaries of other types than strings give their decoded values", {
  reader <- python_stream("dict-values", c(
    "enc = lambda codes, values: pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8()), values)",
    "batches = [pa.record_batch({",
    "  'zeros': enc([0, 0, None, 1], pa.array([0, 5], pa.int64())),",
    "  'wide': enc([1, 0, 1, 1], pa.array([2**40, -1], pa.int64())),",
    "  'x': enc([1, 1, 0, None], pa.array([0.5, None])),",
    "  'day': enc([0, 0, 0, 0], pa.array([datetime.date(2024, 1, 2)])),",
    "})]"))
  on.exit(close(reader))
  batch <- read_batch(reader, timeout = 2)
  expect_identical(batch$zeros, c(0L, 0L, NA, 5L))
  expect_s3_class(batch$wide, "integer64")
  expect_equal(as.character(batch$wide), c("-1", "1099511627776", "-1", "-1"))
  expect_identical(batch$x, c(NA, NA, 0.5, NA))
  expect_equal(batch$day, rep(as.Date("2024-01-02"), 4))
})

test_that("integers R's types cannot hold are never a silent NA", {
  reader <- python_stream("int-edges", c(
    "batches = [",
    "  pa.record_batch({'i32': pa.array([-2**31, 1, None], pa.int32()), 'u64': pa.array([1, 2**53 + 1, 2**64 - 1], pa.uint64()),",
    "                   'u32': pa.array([2**32 - 1, 0, None], pa.uint32())}),",
    "  pa.record_batch({'i64': pa.array([-2**63, 1, None], pa.int64())}),",
    "  pa.record_batch({'i32': pa.array([-2**31 + 1, None, 3], pa.int32())}),",
    "]"))
  on.exit(close(reader))
  batch <- read_batch(reader, timeout = 2)
  expect_true(is_shared(batch$i32)) # read without a look at its values
  err <- tryCatch(batch$i32[1], shmpipe_error = function(e) e)
  expect_equal(err$name, "ETYPE")
  expect_match(conditionMessage(err), 'Column "i32" holds -2147483648 at row 0, which is NA_integer_ in R', fixed = TRUE)
  expect_identical(batch$i32[2:3], c(1L, NA))
  expect_identical(batch$u64, c(1, 2^53, 2^64))      # doubles, rounded above 2^53 (as R's arrow does)
  expect_identical(batch$u32, c(4294967295, 0, NA))
  err <- read_outcome(reader)
  expect_s3_class(err, "shmpipe_error")
  expect_match(conditionMessage(err), 'Column "i64" holds -9223372036854775808 at row 0', fixed = TRUE)
  plain <- read_batch(reader, timeout = 2)
  expect_true(is_shared(plain$i32)) # still a view where no value is R's NA
  expect_identical(plain$i32, c(-2147483647L, NA, 3L))
})

test_that("options(shmpipe.int32 = \"checked\") reads an int32 column holding -2147483648 as doubles", {
  old <- options(shmpipe.int32 = "checked")
  on.exit(options(old))
  reader <- python_stream("int-min-checked", c(
    "batches = [pa.record_batch({'i32': pa.array([-2**31, 1, None], pa.int32())}),",
    "           pa.record_batch({'i32': pa.array([-2**31 + 1, None, 3], pa.int32())})]"))
  on.exit(close(reader), add = TRUE)
  batch <- read_batch(reader, timeout = 2)
  expect_identical(batch$i32, c(-2147483648, 1, NA)) # doubles: the value is kept
  plain <- read_batch(reader, timeout = 2)
  expect_true(is_shared(plain$i32))
  expect_identical(plain$i32, c(-2147483647L, NA, 3L))
})

# Every way R reads an int32 view, each on a batch of its own (a view
# keeps what it found), of a column with a null (i) and one without (j):
# with -2147483648 at row 1, an error naming the row; without it, the
# values of a plain vector.
int32_reads <- list(
  element = function(x) x[2],
  region = function(x) sum(x, na.rm = TRUE),           # Dataptr_or_null, then Get_region
  pointer = function(x) cumsum(x),                     # INTEGER(): Dataptr
  read_only_pointer = function(x) tabulate(x + 0L),    # arithmetic: INTEGER_RO()
  duplicate = function(x) { y <- x; y[1] <- 0L; y },
  serialize = function(x) unserialize(serialize(x, NULL)),
  is_na = function(x) is.na(x),
  released = function(x) x[2] # after release_batch() copied it
)

int32_batches <- function(label, second) {
  python_stream(label, sprintf(paste0("batches = [pa.record_batch({'i': pa.array([5, %s, None, 7], pa.int32()), ",
                                      "'j': pa.array([5, %s, 6, 7], pa.int32())}) for _ in range(%d)]"),
                               second, second, 2 * length(int32_reads)))
}

test_that("every read of an int32 view holding -2147483648 is an error naming the row, never an NA", {
  reader <- int32_batches("int-min-reads", "-2**31")
  on.exit(close(reader))
  for (read in names(int32_reads)) for (column in c("i", "j")) {
    batch <- read_batch(reader, timeout = 2)
    x <- batch[[column]]
    expect_identical(x[1], 5L) # another row reads as it is, without a scan
    expect_true(is_shared(x))
    if (read == "released") {
      release_batch(batch)
      expect_false(is_shared(x))
      expect_identical(x[3], if (column == "i") NA_integer_ else 6L) # a null is still an NA, the value still an error
    }
    err <- tryCatch(int32_reads[[read]](x), error = function(e) e)
    expect_s3_class(err, "shmpipe_error")
    expect_match(conditionMessage(err), sprintf('Column "%s" holds -2147483648 at row 1', column), fixed = TRUE,
                 info = paste(read, column))
  }
})

test_that("every read of an int32 view without -2147483648 gives its values", {
  reader <- int32_batches("int-min-absent", "-2**31 + 1")
  on.exit(close(reader))
  for (read in names(int32_reads)) for (column in c("i", "j")) {
    batch <- read_batch(reader, timeout = 2)
    x <- batch[[column]]
    plain <- if (column == "i") c(5L, -2147483647L, NA, 7L) else c(5L, -2147483647L, 6L, 7L)
    if (read == "released") release_batch(batch)
    expect_identical(int32_reads[[read]](x), int32_reads[[read]](plain), info = paste(read, column))
    expect_identical(x, plain, info = paste(read, column))
  }
})

test_that("int64 becomes integer where every value fits, else integer64; an option asks for integer64 always", {
  code <- c("batches = [pa.record_batch({'small': pa.array([1, None, -7], pa.int64()), 'big': pa.array([2**40, None, -2**40], pa.int64())})]")
  reader <- python_stream("int64", code)
  on.exit(close(reader))
  batch <- read_batch(reader, timeout = 2)
  expect_identical(batch$small, c(1L, NA, -7L))
  expect_s3_class(batch$big, "integer64")
  expect_equal(as.character(batch$big), c("1099511627776", NA, "-1099511627776"))
  expect_equal(format(sum(batch$big, na.rm = TRUE)), "0") # bit64's methods work without library(bit64)
  old <- options(shmpipe.int64 = "integer64")
  on.exit(options(old), add = TRUE)
  again <- python_stream("int64-option", code)
  on.exit(close(again), add = TRUE)
  batch <- read_batch(again, timeout = 2)
  expect_s3_class(batch$small, "integer64")
  expect_equal(as.character(batch$small), c("1", NA, "-7"))
})

test_that("a type R does not read is refused naming the column and the type, and the stream goes on", {
  reader <- python_stream("refusals", c(
    "u = pa.UnionArray.from_dense(pa.array([0, 1], pa.int8()), pa.array([0, 0], pa.int32()), [pa.array([1]), pa.array(['a'])])",
    "batches = [pa.record_batch({'u': u}), pa.record_batch({'iv': pa.array([pa.MonthDayNano([1, 2, 3])])}), pa.record_batch({'x': [1.5]})]"))
  on.exit(close(reader))
  union <- read_outcome(reader)
  expect_equal(union$name, "ETYPE")
  expect_match(conditionMessage(union), 'Column "u" has type dense_union, which R has no type for', fixed = TRUE)
  interval <- read_outcome(reader)
  expect_equal(interval$name, "ETYPE")
  expect_match(conditionMessage(interval), 'Column "iv" has type interval[month_day_nano], which the R package does not read yet', fixed = TRUE)
  expect_equal(read_batch(reader, timeout = 2)$x, 1.5)
})

test_that("a dictionary the core refused makes the batches that use it errors, not the labels before", {
  # The messages of a factor column, as R's writer sends them.
  source <- unique_name("dict-source")
  copy <- shm_reader(source, create = TRUE, capacity = 1e5)
  source_writer <- shm_writer(source)
  write_batch(source_writer, data.frame(s = factor(c("a", "b"))))
  close(source_writer)
  schema <- recv_bytes(copy, timeout = 2)
  dictionary <- recv_bytes(copy, timeout = 2)
  batch <- recv_bytes(copy, timeout = 2)
  close(copy)
  # The same dictionary with offsets that go back: the core refuses it.
  body <- 8 + readBin(dictionary[5:8], "integer", size = 4)
  offsets <- writeBin(0:2, raw(), size = 4)
  at <- body + which(vapply(seq_len(length(dictionary) - body - 11), function(i)
    identical(dictionary[body + i - 1 + 0:11], offsets), NA))[1] - 1
  broken <- dictionary
  broken[at + 4:7] <- writeBin(9L, raw(), size = 4)
  name <- unique_name("dict-refused")
  reader <- shm_reader(name, create = TRUE, capacity = 1e5)
  on.exit(close(reader))
  writer <- shm_writer(name)
  for (record in list(schema, dictionary, batch, broken, batch, dictionary, batch)) send_bytes(writer, record)
  close(writer)
  outcomes <- lapply(1:4, function(i) read_outcome(reader))
  expect_equal(as.character(outcomes[[1]]$s), c("a", "b"))
  expect_match(conditionMessage(outcomes[[2]]), "go back", fixed = TRUE)
  expect_s3_class(outcomes[[3]], "shmpipe_error") # never the labels of the dictionary before
  expect_match(conditionMessage(outcomes[[3]]), "uses dictionary 0, which was refused when it arrived", fixed = TRUE)
  expect_equal(as.character(outcomes[[4]]$s), c("a", "b"))
})
