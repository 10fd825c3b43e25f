test_that("shm_channel_name reads the variable the pipeline sets", {
  old <- Sys.getenv("SHMPIPE_CHANNEL_RAW_TICKS", unset = NA)
  on.exit(if (is.na(old)) Sys.unsetenv("SHMPIPE_CHANNEL_RAW_TICKS") else Sys.setenv(SHMPIPE_CHANNEL_RAW_TICKS = old))
  Sys.setenv(SHMPIPE_CHANNEL_RAW_TICKS = "demo-42-raw_ticks")
  expect_equal(shm_channel_name("raw_ticks"), "demo-42-raw_ticks")
})

test_that("a missing channel is an error naming the variable", {
  Sys.unsetenv("SHMPIPE_CHANNEL_NOT_GIVEN")
  expect_error(shm_channel_name("not_given"), "SHMPIPE_CHANNEL_NOT_GIVEN is not set", fixed = TRUE)
  expect_error(shm_channel_name("not_given"), "channel \"not_given\"", fixed = TRUE)
})
