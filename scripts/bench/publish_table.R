# R's publish_table() of a table of BYTES bytes of doubles (16 columns),
# ROUNDS times, each into a new segment (removed again between rounds):
# prints the median seconds as a JSON line (scripts/bench/publish.ts sets
# it beside a C memcpy of the same bytes into a new segment).
#   Rscript scripts/bench/publish_table.R BYTES ROUNDS
suppressPackageStartupMessages(library(shmpipe))
args <- as.numeric(commandArgs(trailingOnly = TRUE))
bytes <- args[1]
rounds <- args[2]
columns <- 16
rows <- bytes / 8 / columns
features <- as.data.frame(lapply(seq_len(columns), function(k) as.double(seq_len(rows)) * k))
name <- sprintf("bench-r-publish-%d", Sys.getpid())
took <- vapply(seq_len(rounds), function(i) {
  started <- Sys.time()
  table <- publish_table(name, features)
  seconds <- as.numeric(Sys.time() - started, units = "secs")
  close(table)
  seconds
}, 0)
cat(sprintf('{"case":"R publish_table, %.0f B of doubles","value":%.4f,"unit":"s","mibps":%.0f}\n',
            bytes, median(took), bytes / 2^20 / median(took)))
