# Every exported function has a help page that passes R's checks, and
# every page's examples run.

man <- normalizePath(file.path(getwd(), "../../man"))
pages <- list.files(man, pattern = "[.]Rd$", full.names = TRUE)

test_that("every help page passes tools::checkRd", {
  expect_gt(length(pages), 5)
  for (page in pages) expect_equal(as.character(tools::checkRd(page)), character(0), info = basename(page))
})

test_that("every exported function has a help page", {
  aliases <- unlist(lapply(pages, function(page) {
    rd <- tools::parse_Rd(page)
    unlist(lapply(rd[vapply(rd, attr, "", "Rd_tag") == "\\alias"], as.character))
  }))
  expect_setequal(setdiff(getNamespaceExports("shmpipe"), aliases), character(0))
  expect_true(file.exists(file.path(system.file(package = "shmpipe"), "help"))) # installed with its help
})

test_that("every help page's examples run", {
  for (page in pages) {
    code <- tempfile(fileext = ".R")
    tools::Rd2ex(page, code)
    if (!file.exists(code)) next
    expect_error(capture.output(source(code, local = new.env())), NA, info = basename(page))
    unlink(code)
  }
})
