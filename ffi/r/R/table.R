#' Published tables: a data.frame written once into shared memory, read in
#' place by any number of processes in any language, and passed to R
#' workers (parallel's PSOCK clusters, serialize(), saveRDS()) by name.

# This session's publications, by name: they keep their names until
# close(), unpublish_table() or the end of the session, not until the
# garbage collector finds the object publish_table() returned.
.published <- new.env(parent = emptyenv())

# Tables this process opened because a serialized column named them
# (shared_column()), by name: every column of a table maps it once.
.opened <- new.env(parent = emptyenv())

#' Writes `df` into a new segment named `name` for open_table() in any
#' process (R, Python, Go, TypeScript). The name is removed by close() on
#' the result, by unpublish_table(name), or when this R session ends;
#' with persistent = TRUE it outlives the session (until unpublish_table()
#' from any process).
publish_table <- function(name, df, persistent = FALSE) {
  stopifnot(is.data.frame(df))
  pointer <- .Call(shmp_r_publish_table, name, prepare_frame(df), persistent)
  if (!persistent) assign(name, pointer, envir = .published)
  invisible(structure(list(name = name, pointer = pointer, rows = nrow(df), columns = ncol(df)),
                      class = "shmpipe_publication"))
}

#' Removes a published table's name now (also one published by another
#' process or language); processes that opened it keep their data.
unpublish_table <- function(name) {
  pointer <- .published[[name]]
  if (!is.null(pointer)) {
    rm(list = name, envir = .published)
    .Call(shmp_r_close_publication, pointer)
  } else {
    .Call(shmp_r_unpublish, name) # the core checks that it is a table, not a channel
  }
  invisible(NULL)
}

close.shmpipe_publication <- function(con, ...) {
  if (identical(.published[[con$name]], con$pointer)) rm(list = con$name, envir = .published)
  .Call(shmp_r_close_publication, con$pointer) # a persistent table keeps its name
  invisible(NULL)
}

print.shmpipe_publication <- function(x, ...) {
  state <- if (.Call(shmp_r_publication_open, x$pointer)) "published" else "closed"
  cat(sprintf("<shmpipe table \"%s\": %d rows, %d columns, %s>\n", x$name, x$rows, x$columns, state))
  invisible(x)
}

#' The table published as `name` (by any language), as a data.frame whose
#' double and integer columns are the table's shared memory (no copy; a
#' change copies the column first). `wait`: seconds to wait for the name.
#' A table of several batches is one data.frame with its columns joined
#' (a copy), or with batches = TRUE a list of data.frames, each in place.
#' Every column but lists and data.frames serializes by name (converted
#' ones too): a PSOCK or future worker that receives them maps
#' the same table (it needs this package installed).
open_table <- function(name, wait = 0, batches = FALSE) {
  parts <- .Call(shmp_r_open_table, name, wait, NULL, new.env(parent = emptyenv()), NULL)
  if (batches) return(parts)
  if (length(parts) == 1) return(parts[[1]])
  if (length(parts) == 0) stop(sprintf("table \"%s\" holds no batch", name))
  do.call(rbind, unname(parts))
}

# unserialize() of a column that was serialized by name: `where` is
# list(table name, batch, token, column, length), the name and the token
# as symbols (serialize() writes each once for all the columns it holds).
# The table is mapped once per process (.opened); of the columns R
# converts (timestamps, dates, factors, 64-bit integers...), only those
# that arrive are converted, each when it first arrives. Returns the
# column, or the condition that says why it cannot be had (the table is
# gone, or was published again since: the token no longer matches), which
# the C side turns into a stand-in that signals it on first use.
shared_column <- function(where) tryCatch({
  name <- as.character(where[[1]])
  token <- if (is.numeric(where[[3]])) token_key(where[[3]]) else as.character(where[[3]])
  batch <- as.integer(where[[2]])
  column <- as.integer(where[[4]])
  open <- function() .Call(shmp_r_open_table, name, 0, NULL, new.env(parent = emptyenv()), c(batch, column))
  table <- .opened[[name]]
  if (is.null(table) || token_key(attr(table, "token")) != token) table <- open()
  if (token_key(attr(table, "token")) != token || batch > length(table))
    stop(sprintf("table \"%s\" was published again since this column was serialized", name))
  if (is.null(.subset2(table[[batch]], column))) { # a converted column not yet asked for here
    fresh <- open()
    if (token_key(attr(fresh, "token")) != token)
      stop(sprintf("table \"%s\" was published again since this column was serialized", name))
    columns <- unclass(table[[batch]])
    columns[[column]] <- .subset2(fresh[[batch]], column)
    table[[batch]] <- structure(columns, class = "data.frame")
  }
  assign(name, table, envir = .opened)
  .subset2(table[[batch]], column)
}, error = function(e) e)

# A column of 64-bit integers as the sender had it (`type`: 13, integer,
# or 14, double for bit64's integer64), where options(shmpipe.int64)
# differs: the values are the same (the sender's integers fit).
as_sent <- function(column, type) {
  if (type == 13L && bit64::is.integer64(column)) return(as.integer(column))
  if (type == 14L && is.integer(column)) return(bit64::as.integer64(column))
  stop(sprintf("a column serialized as R type %d came back as %s", type, typeof(column)))
}

# The token (creator, capacity, inode) as src/table.c writes it in a column's state.
token_key <- function(token) sprintf("%.0f:%.0f:%.0f", token[1], token[2], token[3])

#' Checks that every worker of a parallel cluster can load this package,
#' and fails naming those that cannot. A worker without it would receive a
#' shared column as an empty vector (R's own fallback for an unknown
#' ALTREP class is a warning the worker prints nowhere), so call this once
#' after makePSOCKcluster() before sending tables by name.
shm_cluster_check <- function(cl) {
  ok <- unlist(parallel::clusterCall(cl, function() requireNamespace("shmpipe", quietly = TRUE)))
  if (!all(ok))
    stop(sprintf("worker%s %s cannot load the shmpipe package (install it where the workers run, or set R_LIBS before makePSOCKcluster()): shared columns would reach them empty",
                 if (sum(!ok) > 1) "s" else "", paste(which(!ok), collapse = ", ")), call. = FALSE)
  invisible(TRUE)
}
