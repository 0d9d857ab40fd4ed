// Package blocking holds what the two models that block OS threads in the
// kernel share: a listening socket whose accept(2) blocks, and the serving
// of one connection with blocking read(2) and write(2). The models differ
// only in which thread calls Serve: sequential calls it on the accepting
// thread itself, threads on a new OS thread per connection.
package blocking
