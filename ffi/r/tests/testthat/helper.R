# Channel and table names unique to this process and test.
unique_name <- local({
  counter <- 0
  function(label) {
    counter <<- counter + 1
    sprintf("r%d-%d-%s", Sys.getpid(), counter, label)
  }
})

shm_file <- function(name) file.path("/dev/shm", paste0("shmpipe.", name))

# One column of each type R writes, with NAs.
sample_frame <- function() {
  data.frame(
    price = c(1.5, NA, -3.25, 1e300),
    qty = c(10L, NA, 30L, -2L),
    ok = c(TRUE, NA, FALSE, TRUE),
    who = c("alpha", NA, "gamma é", ""),
    symbol = factor(c("MSFT", "AAPL", NA, "MSFT"), levels = c("AAPL", "MSFT")),
    day = as.Date(c("2024-01-02", NA, "1969-12-31", "2000-02-29")),
    at = as.POSIXct(c(0, 1.5, NA, 1e9), origin = "1970-01-01", tz = "Europe/Zurich"),
    stringsAsFactors = FALSE
  )
}
