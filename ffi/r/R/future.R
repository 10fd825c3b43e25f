# future's check of the size of globals (future.globals.maxSize, 500 MiB by
# default) and published tables.

#' Lets future send published tables (and their columns) as globals whose
#' size future counts wrongly. future >= 1.34 measures a global by the bytes
#' serialize() writes (parallelly::serializedSize()), which for a column of
#' a published table is its name: nothing to do, and this call does
#' nothing. Older future (Debian 12 ships 1.31) counts every vector at its
#' length times its element size (utils::object.size(), which asks a vector
#' nothing but its length: no method of the vector can answer), so a 1 GiB
#' table counts as 1 GiB although about a kilobyte is sent, and a table over
#' 500 MiB is refused. For such a future this raises
#' future.globals.maxSize by what future counts of `...` beyond what is
#' sent, so that the check still guards every other global as before.
#' Returns the previous options (for options(old)), invisibly.
shm_future_allow <- function(...) {
  old <- options(future.globals.maxSize = getOption("future.globals.maxSize"))
  if (!requireNamespace("future", quietly = TRUE) || utils::packageVersion("future") >= "1.34.0")
    return(invisible(old))
  limit <- getOption("future.globals.maxSize", 500 * 1024^2)
  if (!is.finite(limit)) return(invisible(old))
  extra <- sum(vapply(list(...), overcounted, 0))
  options(future.globals.maxSize = limit + extra)
  invisible(old)
}

# What future < 1.34 counts of x (utils::object.size() of each vector of a
# list) beyond what serialize() writes for it.
overcounted <- function(x) {
  counted <- if (is.list(x)) sum(vapply(x, function(v) as.numeric(utils::object.size(v)), 0))
             else as.numeric(utils::object.size(x))
  max(0, counted - length(serialize(x, NULL)))
}
