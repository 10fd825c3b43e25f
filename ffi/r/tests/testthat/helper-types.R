# The type matrix R reads (test-types.R, and test/r.test.ts with arrow-go's
# writer, test/fixtures/go/rtypes): pyarrow's code for it, and what R makes of it.

type_matrix <- c(
  "n = 4",
  "cols = {",
  "  'bin': pa.array([b'ab', None, b'', b'\\x00\\xff'], pa.binary()),",
  "  'lbin': pa.array([b'ab', None, b'', b'z'], pa.large_binary()),",
  "  'fbin': pa.array([b'ab', None, b'cd', b'ef'], pa.binary(2)),",
  "  'bview': pa.array([b'ab', None, b'x' * 20, b''], pa.binary_view()),",
  "  'lstr': pa.array(['a', None, '', 'é'], pa.large_utf8()),",
  "  'sview': pa.array(['short', None, 'a string longer than twelve', ''], pa.string_view()),",
  "  'nul': pa.nulls(n),",
  "  'f16': pa.array([1.5, None, -2.0, 65504.0], pa.float16()),",
  "  'dec': pa.array([decimal.Decimal('1.25'), None, decimal.Decimal('-3.50'), decimal.Decimal('0.01')], pa.decimal128(10, 2)),",
  "  'dec256': pa.array([decimal.Decimal('12345678901234567890.125'), None, decimal.Decimal('-1.5'), decimal.Decimal('0')], pa.decimal256(40, 3)),",
  "  't32': pa.array([0, None, 3661, 86399], pa.time32('s')),",
  "  't64': pa.array([1500000, None, 0, 1], pa.time64('us')),",
  "  'dur': pa.array([1500, None, -250, 0], pa.duration('ms')),",
  "  'd64': pa.array([86400000 * 3, None, -86400000, 0], pa.date64()),",
  "  'li': pa.array([[1, 2], None, [], [None, 4]], pa.list_(pa.int32())),",
  "  'ls': pa.array([['a', None], ['b'], None, []], pa.list_(pa.utf8())),",
  "  'lld': pa.array([[1.5], [], None, [2.5, None]], pa.large_list(pa.float64())),",
  "  'fsl': pa.array([[1, 2], None, [3, None], [5, 6]], pa.list_(pa.int64(), 2)),",
  "  'lv': pa.array([[1, 2], None, [], [3]], pa.list_view(pa.int16())),",
  "  'lll': pa.array([[[1], [2, 3]], None, [[]], [None]], pa.list_(pa.list_(pa.int8()))),",
  "  'st': pa.array([{'a': 7, 'b': 'x'}, None, {'a': None, 'b': 'yz'}, {'a': 1, 'b': None}], pa.struct([('a', pa.int64()), ('b', pa.utf8())])),",
  "  'mp': pa.array([[('k', 1)], None, [], [('a', None), ('b', 2)]], pa.map_(pa.utf8(), pa.int32())),",
  "  'ree': pa.RunEndEncodedArray.from_arrays(pa.array([2, 3, 4], pa.int32()), pa.array(['x', None, 'y'])),",
  "  'dd': pa.DictionaryArray.from_arrays(pa.array([1, 0, None, 1], pa.int32()), pa.array([0.5, 2.5])),",
  "}",
  "full = pa.record_batch(cols)"
)

expected_full <- function() {
  r <- as.raw
  x <- list(
    bin = list(r(c(0x61, 0x62)), NULL, raw(0), r(c(0x00, 0xff))),
    lbin = list(r(c(0x61, 0x62)), NULL, raw(0), r(0x7a)),
    fbin = list(r(c(0x61, 0x62)), NULL, r(c(0x63, 0x64)), r(c(0x65, 0x66))),
    bview = list(r(c(0x61, 0x62)), NULL, r(rep(0x78, 20)), raw(0)),
    lstr = c("a", NA, "", "é"),
    sview = c("short", NA, "a string longer than twelve", ""),
    nul = rep(NA, 4),
    f16 = c(1.5, NA, -2, 65504),
    dec = c(1.25, NA, -3.5, 0.01),
    dec256 = c(12345678901234567890.125, NA, -1.5, 0),
    t32 = structure(c(0, NA, 3661, 86399), class = c("hms", "difftime"), units = "secs"),
    t64 = structure(c(1.5, NA, 0, 1e-6), class = c("hms", "difftime"), units = "secs"),
    dur = structure(c(1.5, NA, -0.25, 0), class = "difftime", units = "secs"),
    d64 = as.Date(c("1970-01-04", NA, "1969-12-31", "1970-01-01")),
    li = list(c(1L, 2L), NULL, integer(0), c(NA, 4L)),
    ls = list(c("a", NA), "b", NULL, character(0)),
    lld = list(1.5, numeric(0), NULL, c(2.5, NA)),
    fsl = list(c(1L, 2L), NULL, c(3L, NA), c(5L, 6L)),
    lv = list(c(1L, 2L), NULL, integer(0), 3L),
    lll = list(list(1L, c(2L, 3L)), NULL, list(integer(0)), list(NULL)),
    st = data.frame(a = c(7L, NA, NA, 1L), b = c("x", NA, "yz", NA)),
    mp = list(data.frame(key = "k", value = 1L), NULL, data.frame(key = character(0), value = integer(0)),
              data.frame(key = c("a", "b"), value = c(NA, 2L))),
    ree = c("x", "x", NA, "y"),
    dd = c(2.5, 0.5, NA, 2.5)
  )
  x$st <- I(x$st)
  x
}

# A column as compared: a data.frame column without the I() of expected_full().
plain <- function(x) { if (inherits(x, "AsIs")) class(x) <- setdiff(class(x), "AsIs"); x }
