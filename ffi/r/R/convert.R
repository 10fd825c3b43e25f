# Helpers of the C conversion (src/convert.c, src/read.c).

# x[i] for a vector or list, x[i, ] for a data.frame (a struct's values):
# the decoded values of dictionary indices and of run-end encoded runs.
take_values <- function(x, i) {
  if (!is.data.frame(x)) return(x[i])
  out <- x[i, , drop = FALSE]
  row.names(out) <- NULL
  out
}

# A dictionary delta's values after those already kept.
append_values <- function(before, more) {
  if (is.data.frame(before)) {
    out <- rbind(before, more)
    row.names(out) <- NULL
    return(out)
  }
  c(before, more)
}
