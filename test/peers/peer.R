# The R peer of the conformance runs: the same command line as
# test/peers/peer.ts, peer.py and go/ (`Rscript peer.R ROLE NAME`), the data
# of each scenario from scenarios.json (read with a pattern: base R has no
# JSON reader). A reader creates the channel and prints "ready"; a writer
# waits for the name. A reader prints "ok <summary>" when every value
# matched, or fails with the first difference.
suppressMessages(library(shmpipe))
args <- commandArgs(trailingOnly = TRUE)
role <- args[[1]]
name <- args[[2]]
file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
json <- paste(readLines(file.path(dirname(file), "scenarios.json")), collapse = " ")
number <- function(key) as.numeric(sub(sprintf('.*"%s": *([0-9]+).*', key), "\\1", json))
records <- number("records")
sizes <- as.numeric(strsplit(sub('.*"sizes": *\\[([^]]*)\\].*', "\\1", json), ", *")[[1]])
batches <- number("batches")
per_batch <- number("rows")

fail <- function(...) {
  cat(sprintf("r peer %s: %s\n", role, paste0(...)), file = stderr())
  quit(status = 1)
}

record_bytes <- function(i) {
  n <- sizes[[i %% length(sizes) + 1]]
  as.raw((i * 7 + seq_len(n) - 1) %% 251)
}

rows <- function(from, count) {
  r <- from + seq_len(count) - 1
  y <- as.integer(r * 3)
  y[r %% 7 == 3] <- NA
  data.frame(x = r * 0.5, y = y, s = paste0("s", r), stringsAsFactors = FALSE)
}

check_rows <- function(df, from) {
  want <- rows(from, nrow(df))
  for (column in c("x", "y", "s")) {
    got <- df[[column]]
    if (!identical(is.na(got), is.na(want[[column]])) || !all(got == want[[column]], na.rm = TRUE)) {
      k <- which(xor(is.na(got), is.na(want[[column]])) | (!is.na(got) & got != want[[column]]))[[1]]
      fail(sprintf("row %d: %s is %s, expected %s", from + k - 1, column, format(got[[k]]), format(want[[column]][[k]])))
    }
  }
  nrow(df)
}

if (role == "write-bytes") {
  writer <- shm_writer(name, wait = 10)
  for (i in seq_len(records) - 1) send_bytes(writer, record_bytes(i))
  close(writer)
} else if (role == "read-bytes") {
  reader <- shm_reader(name, create = TRUE, capacity = 2^20)
  cat("ready\n")
  i <- 0
  total <- 0
  while (!is.null(bytes <- recv_bytes(reader))) {
    if (!identical(bytes, record_bytes(i))) fail(sprintf("record %d differs (%d bytes)", i, length(bytes)))
    total <- total + length(bytes)
    i <- i + 1
  }
  close(reader)
  if (i != records) fail(sprintf("%d records, expected %d", i, records))
  cat(sprintf("ok %d records %d bytes\n", i, total))
} else if (role == "write-bytes-hang") {
  # Sends every record, says so, then hangs until killed (the writer killed mid-stream).
  writer <- shm_writer(name, wait = 10)
  for (i in seq_len(records) - 1) send_bytes(writer, record_bytes(i))
  cat("sent\n")
  repeat Sys.sleep(3600)
} else if (role == "read-bytes-gone") {
  # Every record the killed writer committed, then EPEERGONE rather than an end of stream.
  reader <- shm_reader(name, create = TRUE, capacity = 2^20)
  cat("ready\n")
  i <- 0
  repeat {
    got <- tryCatch(recv_bytes(reader, timeout = 20), shmpipe_error = function(e) e)
    if (inherits(got, "shmpipe_error")) {
      if (got$name != "EPEERGONE") fail(conditionMessage(got))
      break
    }
    if (is.null(got)) fail(sprintf("the stream ended cleanly after %d records; expected EPEERGONE", i))
    if (!identical(got, record_bytes(i))) fail(sprintf("record %d differs", i))
    i <- i + 1
  }
  close(reader)
  if (i != records) fail(sprintf("%d records before EPEERGONE, expected %d", i, records))
  cat(sprintf("ok %d records then EPEERGONE\n", i))
} else if (role == "write-bytes-until-gone") {
  # Creates the channel and sends until its only reader is gone (killed mid-stream): EPEERGONE, not a hang.
  writer <- shm_writer(name, create = TRUE, capacity = 2^20)
  cat("ready\n")
  i <- 0
  repeat {
    sent <- tryCatch(send_bytes(writer, record_bytes(i %% records), timeout = 20), shmpipe_error = function(e) e)
    if (inherits(sent, "shmpipe_error")) {
      if (sent$name != "EPEERGONE") fail(conditionMessage(sent))
      break
    }
    i <- i + 1
  }
  close(writer)
  cat(sprintf("ok EPEERGONE after %d records\n", i))
} else if (role == "read-bytes-hang") {
  # Reads a few records, says so, then hangs until killed (the reader killed mid-stream).
  reader <- shm_reader(name, wait = 10)
  for (k in 1:3) if (is.null(recv_bytes(reader, timeout = 10))) fail("the stream ended")
  cat("read\n")
  repeat Sys.sleep(3600)
} else if (role == "write-arrow") {
  writer <- shm_writer(name, wait = 10)
  for (b in seq_len(batches) - 1) write_batch(writer, rows(b * per_batch, per_batch))
  close(writer)
} else if (role == "read-arrow") {
  reader <- shm_reader(name, create = TRUE, capacity = 2^22)
  cat("ready\n")
  seen <- 0
  each_batch(reader, function(batch) seen <<- seen + check_rows(batch, seen))
  close(reader)
  if (seen != batches * per_batch) fail(sprintf("%d rows, expected %d", seen, batches * per_batch))
  cat(sprintf("ok %d rows\n", seen))
} else if (role == "publish") {
  close(publish_table(name, rows(0, batches * per_batch), persistent = TRUE))
  cat("published\n")
} else if (role == "open-table") {
  seen <- check_rows(open_table(name, wait = 10), 0)
  if (seen != batches * per_batch) fail(sprintf("%d rows, expected %d", seen, batches * per_batch))
  unpublish_table(name)
  cat(sprintf("ok %d rows\n", seen))
} else {
  fail(sprintf('no role "%s"', role))
}
