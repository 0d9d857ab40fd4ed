# iolab in a container: the static iolab binary and nothing else.
#
# Built offline: `make docker-image` first compiles bin/iolab with
# CGO_ENABLED=0 (a static binary needs no libc), then runs docker build.
# FROM scratch is an empty image, so nothing is pulled from a registry.
# Where a registry is available the same file works unchanged; see
# notes/reference/containers.md for a multi-stage variant that compiles
# inside `golang` instead.
FROM scratch
COPY bin/iolab /iolab
# The tutorial's port.
EXPOSE 8000
# Choose the server with arguments (docker run IMAGE -model threads
# -proto echo) or with IOLAB_MODEL, IOLAB_PROTO and IOLAB_WORK.
ENV IOLAB_MODEL=epoll
ENTRYPOINT ["/iolab", "serve", "-addr", ":8000"]
