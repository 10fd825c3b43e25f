# The R stage of the main example (examples/market/pipeline.ts): reads the
# ticks that the Go producer streams (columns in shared memory, no copy),
# computes per symbol the volume-weighted price, a rolling mean and
# volatility over the last WINDOW ticks, and a least-squares trend of the
# price over time (per minute), and sends the results table back on the "results"
# channel. The channels' names come from the pipeline (shm_channel_name).
suppressPackageStartupMessages({
  library(shmpipe)
  library(bit64) # qty is int64: R integers when every value fits, else bit64's integer64
})
WINDOW <- 500

# On the demo's other machine (pipeline.ts --r-elsewhere, elsewhere.sh) no
# runner made the channels: R makes "results" (for the demo to pull), and
# waits for the ticks as long as they take to come over Flight (the demo
# stops that machine when it ends).
elsewhere <- "--elsewhere" %in% commandArgs(trailingOnly = TRUE)
results <- shm_writer(shm_channel_name("results"), create = elsewhere, wait = 30)
ticks <- shm_reader(shm_channel_name("ticks"), wait = if (elsewhere) Inf else 30)

# Running sums per symbol (rows: symbols as they first appear), the last
# WINDOW prices per symbol, and the first tick's time (the trend's origin).
sums <- NULL
tails <- list()
origin <- NULL
batches <- 0
reading <- 0 # seconds inside read_batch(): the hand-off, and waiting for Go
computing <- 0

repeat {
  started <- proc.time()[["elapsed"]]
  batch <- read_batch(ticks)
  reading <- reading + proc.time()[["elapsed"]] - started
  if (is.null(batch)) break
  started <- proc.time()[["elapsed"]]
  batches <- batches + 1
  price <- batch$price # a view of the ring: no copy
  qty <- as.numeric(batch$qty)
  if (is.null(origin)) origin <- as.numeric(batch$ts[1])
  minutes <- (as.numeric(batch$ts) - origin) / 60
  part <- rowsum(cbind(ticks = 1, price, qty, notional = price * qty, t = minutes, tt = minutes * minutes,
                       tp = minutes * price, pp = price * price), batch$symbol, reorder = FALSE)
  if (is.null(sums)) {
    sums <- part
  } else {
    new <- setdiff(rownames(part), rownames(sums))
    if (length(new)) sums <- rbind(sums, part[new, , drop = FALSE] * 0)
    sums[rownames(part), ] <- sums[rownames(part), , drop = FALSE] + part
  }
  for (symbol in names(by_symbol <- split(price, batch$symbol))) {
    latest <- c(tails[[symbol]], by_symbol[[symbol]])
    tails[[symbol]] <- latest[max(1, length(latest) - WINDOW + 1):length(latest)]
  }
  release_batch(batch) # the record goes back to the ring now
  computing <- computing + proc.time()[["elapsed"]] - started
}

symbols <- sort(rownames(sums))
s <- sums[symbols, , drop = FALSE]
n <- s[, "ticks"]
slope <- (n * s[, "tp"] - s[, "t"] * s[, "price"]) / (n * s[, "tt"] - s[, "t"]^2)
intercept <- (s[, "price"] - slope * s[, "t"]) / n
# R² of the trend: 1 - residual sum of squares / total sum of squares, from the sums.
total <- s[, "pp"] - s[, "price"]^2 / n
residual <- s[, "pp"] - 2 * intercept * s[, "price"] - 2 * slope * s[, "tp"] + n * intercept^2 +
  2 * intercept * slope * s[, "t"] + slope^2 * s[, "tt"]
volatility <- vapply(symbols, function(k) sd(diff(log(tails[[k]]))), 0)

table <- data.frame(
  symbol = symbols,
  ticks = as.integer(n),
  mean_price = s[, "price"] / n,
  vwap = s[, "notional"] / s[, "qty"],
  rolling_mean = vapply(symbols, function(k) mean(tails[[k]]), 0),
  rolling_volatility = volatility,
  trend_per_minute = slope,
  r_squared = 1 - residual / total,
  written_at = Sys.time(), # for the orchestrator to time the hand-off back
  row.names = NULL
)
write_batch(results, table)
close(results)
close(ticks)
cat(sprintf("read %d batches, %d ticks: %.0f ms in read_batch (the hand-off, and waiting for Go), %.0f ms computing\n",
            batches, sum(table$ticks), reading * 1000, computing * 1000))
