library(testthat)
library(shmpipe)
test_check("shmpipe")
