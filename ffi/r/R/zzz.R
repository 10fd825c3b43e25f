# The end of the session removes the names this process created and still
# owns (the core's registry: never a parent's, in a forked child), also
# those whose objects' finalizers have not run.
.session <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  reg.finalizer(.session, function(e) .Call(shmp_r_owned_unlink_all), onexit = TRUE)
}
