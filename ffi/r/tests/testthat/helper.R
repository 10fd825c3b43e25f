# Channel and table names unique to this process and test.
unique_name <- local({
  counter <- 0
  function(label) {
    counter <<- counter + 1
    sprintf("r%d-%d-%s", Sys.getpid(), counter, label)
  }
})

shm_file <- function(name) file.path("/dev/shm", paste0("shmpipe.", name))

# One column of each type R writes, with NAs.
sample_frame <- function() {
  data.frame(
    price = c(1.5, NA, -3.25, 1e300),
    qty = c(10L, NA, 30L, -2L),
    ok = c(TRUE, NA, FALSE, TRUE),
    who = c("alpha", NA, "gamma é", ""),
    symbol = factor(c("MSFT", "AAPL", NA, "MSFT"), levels = c("AAPL", "MSFT")),
    day = as.Date(c("2024-01-02", NA, "1969-12-31", "2000-02-29")),
    at = as.POSIXct(c(0, 1.5, NA, 1e9), origin = "1970-01-01", tz = "Europe/Zurich"),
    stringsAsFactors = FALSE
  )
}

# The repository this package lies in (ffi/r/tests/testthat), for the
# Python binding and its pyarrow, which write the streams R reads here.
repo_root <- function() normalizePath(Sys.getenv("SHMPIPE_REPO", file.path(getwd(), "../../../..")))

# Runs Python `code`, which defines `batches` (pyarrow RecordBatches or
# Tables), and sends them through the Python binding to channel `name`
# (which the caller created). The script's output, or an error with it.
python_writes <- function(name, code) {
  script <- tempfile(fileext = ".py")
  on.exit(unlink(script))
  writeLines(c("import datetime, decimal", "import pyarrow as pa", "import shmpipe", code,
               sprintf("with shmpipe.ArrowWriter(shmpipe.open_writer('%s')) as w:", name),
               "    for b in batches:", "        w.write(b)"), script)
  python <- file.path(repo_root(), ".venv/bin/python")
  out <- suppressWarnings(system2(python, script, stdout = TRUE, stderr = TRUE,
                                  env = paste0("PYTHONPATH=", file.path(repo_root(), "ffi/python"))))
  if (!is.null(attr(out, "status"))) stop("the Python writer failed:\n", paste(out, collapse = "\n"))
  invisible(out)
}

# A reader of a new channel that Python `code` wrote `batches` into.
python_stream <- function(label, code, capacity = 1e6) {
  name <- unique_name(label)
  reader <- shm_reader(name, create = TRUE, capacity = capacity)
  python_writes(name, code)
  reader
}

# The condition read_batch() signals (or its value if none).
read_outcome <- function(reader) tryCatch(read_batch(reader, timeout = 2), error = function(e) e)

# Starts `program` with `args` in the background, its stdout into file
# `out` (PYTHONPATH: the Python binding); returns a function that waits for
# it to end and fails if it failed.
processx_free_spawn <- function(program, args, out) {
  status <- tempfile()
  command <- sprintf("(PYTHONPATH=%s %s %s > %s 2>&1; echo $? > %s)", shQuote(file.path(repo_root(), "ffi/python")),
                     shQuote(program), paste(shQuote(args), collapse = " "), shQuote(out), shQuote(status))
  system(command, wait = FALSE)
  function(timeout = 20) {
    deadline <- Sys.time() + timeout
    while (!file.exists(status) || length(readLines(status)) == 0) {
      if (Sys.time() > deadline) stop("the child did not end within ", timeout, " s")
      Sys.sleep(0.05)
    }
    code <- readLines(status)
    unlink(status)
    if (code != "0") stop("the child failed:\n", paste(readLines(out), collapse = "\n"))
  }
}

# The JSON line a child printed last (compared as text: no JSON package needed).
jsonlite_free_parse <- function(lines) lines[length(lines)]
