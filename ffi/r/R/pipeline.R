#' For scripts run as stages of a shmpipe pipeline (docs/PIPELINES.md): the
#' runner passes each stage the segment name of every channel and table it
#' declared, in SHMPIPE_CHANNEL_<LOCAL NAME IN UPPER CASE>.

#' The segment name of the pipeline's channel (or table) `local`, for
#' shm_reader() or shm_writer(). An error naming the variable when this
#' script was not started by a pipeline that gives it that channel.
shm_channel_name <- function(local) {
  stopifnot(is.character(local), length(local) == 1)
  variable <- paste0("SHMPIPE_CHANNEL_", toupper(local))
  value <- Sys.getenv(variable, unset = "")
  if (!nzchar(value)) {
    stop(sprintf("shmpipe: %s is not set: this stage must be started by a shmpipe pipeline that gives it channel \"%s\" (in the stage's reads or writes)",
                 variable, local), call. = FALSE)
  }
  value
}
