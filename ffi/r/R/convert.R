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

# A data.frame's columns prepared for the C encoder (src/write.c), which
# reads each as it lies: a list column becomes a shmpipe_list (the length of
# each element, NA for NULL, and all elements' values joined: Arrow's list
# layout), a list of raw vectors a shmpipe_binary, a data.frame column a
# shmpipe_struct of its prepared columns. Other columns stay as they are.
prepare_frame <- function(df) {
  structure(lapply(df, prepare_column), names = names(df), row.names = .set_row_names(nrow(df)),
            class = "data.frame")
}

prepare_column <- function(x) {
  if (is.data.frame(x))
    return(structure(lapply(x, prepare_column), names = names(x), rows = nrow(x), class = "shmpipe_struct"))
  if (!is.list(x)) return(x)
  present <- Filter(Negate(is.null), unname(unclass(x)))
  if (!all(vapply(present, function(e) is.atomic(e) || is.list(e), NA))) return(x) # the C side names it
  if (length(present) > 0 && all(vapply(present, is.raw, NA)))
    return(structure(unclass(x), class = "shmpipe_binary"))
  values <- if (length(present) == 0) logical(0)
            else if (all(vapply(present, is.data.frame, NA))) do.call(rbind, present)
            else do.call(c, present)
  lengths <- ifelse(vapply(unclass(x), is.null, NA), NA_integer_,
                    vapply(unclass(x), function(e) if (is.data.frame(e)) nrow(e) else length(e), 0L))
  structure(list(lengths = as.integer(lengths), values = prepare_column(values)), class = "shmpipe_list")
}

# What a prepared column's Arrow type depends on: a change sends the schema again.
type_signature <- function(x) {
  if (inherits(x, "shmpipe_list")) return(paste0("list<", type_signature(x$values), ">"))
  if (inherits(x, "shmpipe_struct"))
    return(paste0("struct<", paste(names(x), vapply(x, type_signature, ""), sep = ":", collapse = ","), ">"))
  paste(c(class(x), typeof(x), attr(x, "tzone")), collapse = "/")
}
