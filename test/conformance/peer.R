# The R peer of the conformance matrix (test/conformance.test.ts):
#
#   Rscript peer.R ROLE SCENARIO CHANNEL
#
# The same command line, rules and output as peer.ts; the values come from
# scenarios.json and are encoded by shmpipe's R package here. R sees
# data.frame columns, not Arrow types: the type it reports is what the
# column's R class says (a POSIXct column cannot tell the unit it came in).
suppressPackageStartupMessages({ library(shmpipe); library(jsonlite); library(bit64) })
options(shmpipe.int64 = "integer64") # int64 stays int64 (not integer when the values fit)

args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
description <- fromJSON(file.path(here, "scenarios.json"), simplifyVector = FALSE)
role <- args[[1]]; scenario <- description$scenarios[[args[[2]]]]; channel <- args[[3]]
spec <- if (is.null(scenario$table)) NULL else description$tables[[scenario$table]]
TIMEOUT <- 30
stdin_con <- file("stdin", "r")
go_on <- function() invisible(readLines(stdin_con, n = 1))
say <- function(text) { cat(text, "\n", sep = ""); flush(stdout()) }
show <- function(value) say(toJSON(value, auto_unbox = TRUE, na = "null", digits = NA, null = "null"))
code_of <- function(e) if (inherits(e, "shmpipe_error")) e$name else stop(e)

# The writer creates the channel, unless the scenario has the reader create it.
reader_creates <- identical(scenario$creator, "reader")
writer_end <- function() if (reader_creates) shm_writer(channel) else shm_writer(channel, create = TRUE, capacity = scenario$capacity)
reader_end <- function() if (reader_creates) shm_reader(channel, create = TRUE, capacity = scenario$capacity) else shm_reader(channel)

record_sizes <- function(phases) {
  sizes <- integer(0)
  for (p in phases) for (i in seq_len(p$count)) sizes <- c(sizes, p$sizes[[length(sizes) %% length(p$sizes) + 1]])
  sizes
}
# Record k's bytes: byte j is (k * 131 + j) %% 251.
record <- function(k, size) as.raw((k * 131 + seq_len(size) - 1) %% 251)

# Rows r (counted over the whole table) of one column, as R's own column.
column_of <- function(column, r) {
  count <- length(r)
  null <- if (is.null(column$null)) rep(FALSE, count) else r %% column$null[[1]] == column$null[[2]]
  if (column$type == "list<int32>") {
    values <- lapply(r, function(row) as.integer(column$a * row + column$b + seq_len(row %% column$lengths) - 1))
    values[null] <- list(NULL)
    return(values)
  }
  if (startsWith(column$type, "struct<"))
    return(as.data.frame(setNames(lapply(column$fields, column_of, r), vapply(column$fields, function(f) f$name, "")),
                         stringsAsFactors = FALSE, optional = TRUE))
  linear <- if (is.null(column$a)) NULL else column$a * r + column$b
  values <- switch(column$type,
    "int32" = as.integer(linear),
    "int64" = as.integer64(linear),
    "float64" = linear,
    "timestamp[us,UTC]" = as.POSIXct(linear / 1e6, origin = "1970-01-01", tz = "UTC"),
    "utf8" = enc2utf8(paste0(column$prefix, r, ifelse(r %% column$suffixEvery == 0, column$suffix, ""))),
    "bool" = r %% 2 == 0,
    "dictionary<utf8>" = factor(unlist(column$words)[r %% length(column$words) + 1], levels = unlist(column$words)),
    stop("scenarios.json: unknown column type ", column$type))
  values[null] <- NA
  values
}

# Rows [from, from + count) of a table as a data.frame.
frame_of <- function(spec, from, count) {
  r <- from + seq_len(count) - 1
  df <- data.frame(row.names = seq_len(count))
  for (column in spec$columns) {
    values <- column_of(column, r)
    if (is.list(values) && !is.data.frame(values)) df[[column$name]] <- I(values) else df[[column$name]] <- values
    if (inherits(df[[column$name]], "AsIs")) class(df[[column$name]]) <- setdiff(class(df[[column$name]]), "AsIs")
  }
  row.names(df) <- NULL
  df
}

type_name <- function(x) {
  if (inherits(x, "POSIXct")) return(sprintf("timestamp[us,%s]", attr(x, "tzone") %||% ""))
  if (inherits(x, "integer64")) return("int64")
  if (is.factor(x)) return("dictionary<utf8>")
  if (is.integer(x)) return("int32")
  if (is.double(x)) return("float64")
  if (is.character(x)) return("utf8")
  if (is.logical(x)) return("bool")
  if (is.data.frame(x)) return(sprintf("struct<%s>", paste0(names(x), ":", vapply(x, type_name, ""), collapse = ",")))
  if (is.list(x)) {
    items <- Filter(Negate(is.null), x)
    return(sprintf("list<%s>", if (length(items) == 0) "?" else type_name(items[[1]])))
  }
  paste0("?", class(x)[[1]])
}
`%||%` <- function(a, b) if (is.null(a)) b else a

values_of <- function(x) {
  if (inherits(x, "POSIXct")) return(round(as.numeric(x) * 1e6))
  if (inherits(x, "integer64")) return(as.numeric(x))
  if (is.factor(x)) return(as.character(x))
  if (is.data.frame(x)) { # a struct: an object per row
    columns <- lapply(x, values_of)
    return(lapply(seq_len(nrow(x)), function(i) lapply(columns, function(values) values[[i]])))
  }
  if (is.list(x)) return(lapply(x, function(items) if (is.null(items)) NA else I(values_of(items))))
  x
}

canonical <- function() {
  state <- new.env()
  state$batches <- integer(0); state$types <- list(); state$columns <- list(); state$error <- NA
  state$add <- function(df) {
    state$batches <- c(state$batches, nrow(df))
    for (name in names(df)) {
      state$types[[name]] <- type_name(df[[name]])
      state$columns[[name]] <- c(state$columns[[name]], values_of(df[[name]]))
    }
  }
  state$result <- function() list(batches = I(state$batches), types = state$types,
                                 columns = lapply(state$columns, I), error = state$error)
  state
}

write_bytes <- function() {
  sizes <- record_sizes(scenario$phases)
  writer <- writer_end()
  say("ready")
  go_on()
  sent <- 0
  error <- tryCatch({
    for (p in seq_along(scenario$phases)) {
      for (i in seq_len(scenario$phases[[p]]$count)) {
        send_bytes(writer, record(sent, sizes[[sent + 1]]), timeout = TIMEOUT)
        sent <- sent + 1
      }
      # (R has no claim: a writer-killed R writer is killed between records.)
      if (p == 1) { say("half"); go_on() }
    }
    close(writer, timeout = TIMEOUT)
    NA
  }, error = code_of)
  show(list(sent = sent, error = error))
}

read_bytes <- function() {
  sizes <- record_sizes(scenario$phases)
  stop_at <- if (scenario$kind == "reader-killed") scenario$phases[[1]]$count else -1
  reader <- reader_end()
  say("ready")
  records <- 0; bytes <- 0; mismatches <- 0
  error <- tryCatch({
    while (!is.null(data <- recv_bytes(reader, timeout = TIMEOUT))) {
      if (records >= length(sizes) || length(data) != sizes[[records + 1]] || !identical(data, record(records, length(data))))
        mismatches <- mismatches + 1
      bytes <- bytes + length(data)
      records <- records + 1
      if (records == stop_at) { say("half"); Sys.sleep(3600) } # killed here
    }
    NA
  }, error = code_of)
  close(reader)
  show(list(records = records, bytes = bytes, mismatches = mismatches, error = error))
}

write_arrow <- function() {
  writer <- writer_end()
  say("ready")
  go_on()
  sent <- 0
  error <- tryCatch({
    if (scenario$kind == "late-join") {
      rows <- spec$batches[[1]]
      for (b in seq_len(scenario$before + scenario$after) - 1) {
        if (b == scenario$before) { say("half"); go_on() }
        write_batch(writer, frame_of(spec, b * rows, rows), timeout = TIMEOUT)
        sent <- sent + 1
      }
    } else {
      from <- 0
      for (rows in spec$batches) {
        write_batch(writer, frame_of(spec, from, rows), timeout = TIMEOUT)
        from <- from + rows
        sent <- sent + 1
      }
      say("half")
      go_on()
    }
    close(writer, timeout = TIMEOUT)
    NA
  }, error = code_of)
  show(list(sent = sent, error = error))
}

read_arrow <- function() {
  reader <- reader_end()
  say("ready")
  if (scenario$kind == "late-join") {
    words <- unlist(spec$columns[[2]]$words)
    result <- list(batches = 0, first = NA, last = NA, problems = 0, error = NA)
    result$error <- tryCatch({
      each_batch(reader, function(df) {
        seq <- as.numeric(df$seq)
        labels <- as.character(df$label)
        previous <- c(result$last, seq[-length(seq)])
        result$problems <<- result$problems + sum(!is.na(previous) & seq != previous + 1) + sum(labels != words[seq %% length(words) + 1])
        if (is.na(result$first)) result$first <<- seq[[1]]
        result$last <<- seq[[length(seq)]]
        result$batches <<- result$batches + 1
      }, timeout = TIMEOUT)
      NA
    }, error = code_of)
    close(reader)
    show(result)
    return(invisible())
  }
  state <- canonical()
  state$error <- tryCatch({ each_batch(reader, state$add, timeout = TIMEOUT); NA }, error = code_of)
  close(reader)
  show(state$result())
}

# A persistent table outlives its publisher: it exits at once, and the reader unpublishes it.
persistent <- identical(scenario$kind, "table-persistent")

publish <- function() {
  rows <- sum(unlist(spec$batches))
  published <- publish_table(channel, frame_of(spec, 0, rows), persistent = persistent)
  say("ready")
  if (!persistent) {
    go_on()
    close(published)
  }
  show(list(sent = 1, error = NA))
}

open_by_name <- function() {
  parts <- tryCatch(open_table(channel, batches = TRUE), error = function(e) list(error = code_of(e)))
  if (!is.null(parts$error)) return(show(parts))
  state <- canonical()
  for (df in parts) state$add(df)
  if (persistent) {
    failed <- tryCatch({ unpublish_table(channel); NULL }, error = function(e) list(error = code_of(e)))
    if (!is.null(failed)) return(show(failed))
  }
  show(state$result())
}

switch(role,
  "write-bytes" = write_bytes(), "read-bytes" = read_bytes(), "write-arrow" = write_arrow(),
  "read-arrow" = read_arrow(), "publish" = publish(), "open-table" = open_by_name(),
  stop("peer.R: unknown role ", role))
