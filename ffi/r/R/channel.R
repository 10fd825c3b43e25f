#' Channels: one writer and up to 32 readers per name, through POSIX shared
#' memory (the C core of shmpipe, compiled into this package).

#' Opens (or, with create = TRUE, creates) the reading end of channel `name`.
#' A creator owns the name: close() (or the end of the session) removes it.
#' `wait`: seconds to wait for a channel not created yet (0: it must exist).
shm_reader <- function(name, create = FALSE, capacity = NULL, wait = 0) {
  state <- new.env()
  state$dictionaries <- new.env()
  structure(list(pointer = .Call(shmp_r_open, name, "reader", create, capacity, wait), state = state),
            class = "shmpipe_reader")
}

#' Opens (or creates) the writing end of channel `name`.
shm_writer <- function(name, create = FALSE, capacity = NULL, wait = 0) {
  structure(list(pointer = .Call(shmp_r_open, name, "writer", create, capacity, wait), state = new.env()),
            class = "shmpipe_writer")
}

#' The next record as a raw vector (a copy), or NULL at the end of the
#' stream. Waits up to `timeout` seconds (Inf: as long as the writer lives);
#' Ctrl-C ends the wait.
recv_bytes <- function(reader, timeout = Inf) {
  stopifnot(inherits(reader, "shmpipe_reader"))
  .Call(shmp_r_recv_bytes, reader$pointer, timeout)
}

#' Sends a raw vector (or a string, as its bytes) as one record.
send_bytes <- function(writer, bytes, timeout = NULL) {
  stopifnot(inherits(writer, "shmpipe_writer"))
  if (is.character(bytes)) bytes <- charToRaw(bytes)
  invisible(.Call(shmp_r_send_bytes, writer$pointer, bytes, timeout))
}

#' Closes the reading end; the columns of its batches still alive are
#' copied first (the writer may reuse their records once the reader is gone).
close.shmpipe_reader <- function(con, ...) invisible(.Call(shmp_r_close, con$pointer, 0))

#' Closes the writing end: the readers see the end of the stream. Nothing is
#' lost silently: if this process created the channel (its name goes now)
#' and no reader ever attached to read what it wrote, close() first waits
#' up to `timeout` seconds for one to come, then fails with EUNREAD naming
#' the records lost.
close.shmpipe_writer <- function(con, timeout = NULL, ...) invisible(.Call(shmp_r_close, con$pointer, timeout))

print.shmpipe_reader <- function(x, ...) {
  state <- if (.Call(shmp_r_is_open, x$pointer)) "open" else "closed"
  cat(sprintf("<shmpipe reader of \"%s\", %s>\n", .Call(shmp_r_name, x$pointer), state))
  invisible(x)
}

print.shmpipe_writer <- function(x, ...) {
  state <- if (.Call(shmp_r_is_open, x$pointer)) "open" else "closed"
  cat(sprintf("<shmpipe writer of \"%s\", %s>\n", .Call(shmp_r_name, x$pointer), state))
  invisible(x)
}

#' Removes a channel's name from /dev/shm (mappings stay valid).
shm_unlink <- function(name) invisible(.Call(shmp_r_unlink, name))

#' The release of the C core compiled into this package.
shm_version <- function() .Call(shmp_r_version)

conditionMessage.shmpipe_error <- function(c) c$message

#' Writes a data.frame as one Arrow record batch, straight into the channel
#' (numeric, integer, logical, character, factor, Date, POSIXct and
#' bit64::integer64 columns, lists of them, data.frame columns as structs,
#' lists of raw vectors as binary). The schema goes first, and again whenever the
#' columns' names or types change or a reader joined mid-stream; factors
#' send their levels each time.
write_batch <- function(writer, df, timeout = NULL) {
  stopifnot(inherits(writer, "shmpipe_writer"), is.data.frame(df))
  prepared <- prepare_frame(df)
  # What the schema says of each column: its name and its type (a list's and a struct's, inside).
  signature <- paste(names(df), vapply(prepared, type_signature, ""), collapse = "|")
  with_schema <- !identical(writer$state$signature, signature)
  .Call(shmp_r_write_batch, writer$pointer, prepared, with_schema, timeout)
  writer$state$signature <- signature
  invisible(writer)
}

#' The next Arrow record batch as a data.frame, or NULL at the end of the
#' stream (waiting up to `timeout` seconds; Ctrl-C ends the wait). Its
#' float64 and int32 columns are the shared memory itself (no copy); a
#' request to change one copies it first, so R never writes into shared
#' memory. An int32 value (not a null) of -2147483648, R's NA_integer_, is an
#' error where R reads it, never an NA (options(shmpipe.int32 = "checked"):
#' such a column is read as doubles, at the cost of a look at every value).
#' The batch's record is given back to the writer when its columns
#' are garbage collected, or at once by release_batch().
read_batch <- function(reader, timeout = Inf) {
  stopifnot(inherits(reader, "shmpipe_reader"))
  .Call(shmp_r_read_batch, reader$pointer, reader$state$dictionaries, timeout)
}

#' Calls `f(batch)` for each batch until the end of the stream (each wait
#' up to `timeout` seconds) and gives each batch's record back when `f`
#' returns: the columns `f` kept elsewhere are copied first, the others
#' cost nothing. Returns the number of batches, invisibly.
each_batch <- function(reader, f, timeout = Inf) {
  stopifnot(inherits(reader, "shmpipe_reader"), is.function(f))
  count <- 0
  while (!is.null(batch <- read_batch(reader, timeout))) {
    f(batch)
    lease <- .Call(shmp_r_batch_lease, batch)
    batch <- NULL # let go of it: only what f kept still holds its columns
    release_unkept(lease)
    count <- count + 1
  }
  invisible(count)
}

# Gives a batch's record back once its caller let go of the batch. Its
# columns still reachable must be copied first, and until a collection
# runs, every view looks reachable (its weak reference is not cleared): a
# young-generation collection (gc(full = FALSE): the views were made since
# the last one, unless one ran while the batch was in use) clears those of
# the columns nobody kept, so that only the kept ones are copied. Below
# `collect_above` bytes of views, a copy costs about what that collection
# does: in a session of 10^5 live objects (2-core machine, loaded by other
# work), a young collection took 0.5-1.7 ms, copying a batch's columns
# 0.15-0.64 ms at 1 MiB, 0.7-1.8 ms at 4 MiB, 1.9-9.2 ms at 16 MiB.
release_unkept <- function(lease) {
  if (.Call(shmp_r_lease_view_bytes, lease) >= collect_above) invisible(gc(full = FALSE))
  invisible(.Call(shmp_r_release_lease_copying, lease))
}
collect_above <- 4 * 2^20

# The bytes views copied out of shared memory in this session (for the tests).
copied_bytes <- function() .Call(shmp_r_copied_bytes)

#' Gives a batch's record back to the writer now; its columns keep their
#' values (they are copied first).
release_batch <- function(batch) invisible(.Call(shmp_r_release_batch, batch))

#' TRUE if `x` is a column that still views shared memory (not copied).
is_shared <- function(x) .Call(shmp_r_is_shared, x)

# CLOCK_MONOTONIC in nanoseconds (as a double), for the benchmarks' readers.
monotonic_ns <- function() .Call(shmp_r_monotonic_ns)
