# The R receiving side of the Go hand-off benchmark (shmpipe-bench handoff):
# gets each batch by the given transport, checks one value of each column,
# and acknowledges with its CLOCK_MONOTONIC time and how much its resident
# memory grew to hold the batch, on the channel <tag>-ack. The batch is let
# go, and the next one's memory baseline taken, before the acknowledgement,
# so that the next batch finds R waiting (reading /proc/self/status takes
# R some 150 µs: after the acknowledgement, it was counted in the 1 MiB
# hand-off).
#   Rscript scripts/bench/handoff_reader.R shm|tcp-raw|csv [read.csv|fread] TAG
library(shmpipe)
args <- commandArgs(trailingOnly = TRUE)
transport <- args[1]
tag <- args[length(args)]
parse <- if (length(args) == 3 && args[2] == "fread") function(path) data.table::fread(path) else read.csv

resident <- function() {
  status <- readLines("/proc/self/status")
  as.numeric(sub("^VmRSS:\\s+([0-9]+) kB$", "\\1", grep("^VmRSS:", status, value = TRUE))) * 1024
}

ack <- shm_writer(paste0(tag, "-ack"))
# The time and memory growth once `frame` is usable.
held <- function(frame, base) {
  x <- frame[[1]]
  y <- frame[[2]]
  if (x[1] != 0 || y[length(y)] != length(y) - 1) stop("the R reader got wrong values")
  stamp <- shmpipe:::monotonic_ns()
  c(stamp, resident() - base)
}
# The figures go to the writer once the next round's baseline is taken.
acknowledge <- function(figures) {
  base <<- resident()
  send_bytes(ack, writeBin(figures, raw()))
}

if (transport == "shm" || transport == "csv") {
  reader <- shm_reader(paste0(tag, "-data"))
  cat("ready\n")
  base <- resident()
  repeat {
    if (transport == "shm") {
      batch <- read_batch(reader)
      if (is.null(batch)) break
      figures <- held(batch, base)
      release_batch(batch)
      acknowledge(figures)
    } else {
      path <- recv_bytes(reader)
      if (is.null(path)) break
      figures <- held(parse(rawToChar(path)), base)
      invisible(gc())
      acknowledge(figures)
    }

  }
} else if (transport == "tcp-raw") {
  port <- 20000L + Sys.getpid() %% 20000L
  server <- serverSocket(port)
  cat(sprintf("ready 127.0.0.1:%d\n", port))
  con <- socketAccept(server, blocking = TRUE, open = "r+b")
  base <- resident()
  repeat {
    rows <- readBin(con, "double", 1)
    if (length(rows) == 0) break
    frame <- list(readBin(con, "double", rows), readBin(con, "integer", rows))
    figures <- held(frame, base)
    rm(frame)
    invisible(gc())
    acknowledge(figures)

  }
} else {
  stop(sprintf("unknown transport %s: shm, tcp-raw or csv", transport))
}
