/* SPDX-License-Identifier: MIT */
/*
 * percpu/http.h: a registry's metrics over HTTP, for Prometheus to scrape.
 *
 * Part of libpercpu-http (pkg-config percpu-http), a separate library on
 * top of libpercpu and GNU libmicrohttpd, so that the core library needs
 * neither. One server serves one registry (percpu/stats.h):
 *
 *   GET /metrics, HEAD /metrics  200, the registry's exposition: Prometheus
 *       text 0.0.4 (Content-Type: text/plain; version=0.0.4; charset=utf-8),
 *       or OpenMetrics 1.0.0 (application/openmetrics-text; version=1.0.0;
 *       charset=utf-8) when the request's Accept header names
 *       application/openmetrics-text, as Prometheus' does.
 *   another method on /metrics   405, with Allow: GET, HEAD
 *   any other path               404
 *
 * Each scrape reads every metric (percpu_registry_write()), on the server's
 * own thread: the threads updating the metrics never wait for it.
 *
 * Thread safety: percpu_http_start() and percpu_http_port() may run from
 * any thread; percpu_http_stop() runs once per server, after which no call
 * may name it. Nothing here is async-signal-safe. Everything allocates
 * (malloc): not for use inside a malloc built on this library.
 */
#ifndef PERCPU_HTTP_H
#define PERCPU_HTTP_H

#include "common.h"

PERCPU_EXTERN_C_BEGIN

struct percpu_registry;
struct percpu_http;

/*
 * percpu_http_start: listen on addr:port and serve r until
 * percpu_http_stop(). addr is a numeric IPv4 or IPv6 address ("127.0.0.1",
 * "::1", "::" for every interface), NULL for every IPv4 interface. port 0
 * lets the kernel pick a free port: percpu_http_port() tells which. The
 * registry must outlive the server. Returns the server, or NULL with errno
 * EINVAL (r NULL, addr not a numeric address, port above 65535), an error
 * of socket(), bind() or listen() (EADDRINUSE, EACCES, ...), ENOMEM, or
 * EIO if libmicrohttpd could not start its thread.
 */
PERCPU_API struct percpu_http *percpu_http_start(struct percpu_registry *r,
						 const char *addr,
						 unsigned int port);

/*
 * percpu_http_port: the port the server listens on (the one the kernel
 * picked if percpu_http_start() was given 0). Returns it, or -1 with errno
 * EINVAL (h NULL).
 */
PERCPU_API int percpu_http_port(const struct percpu_http *h);

/*
 * percpu_http_stop: close the listening socket, wait for the requests
 * being answered, stop the server's thread and free it. NULL is ignored.
 */
PERCPU_API void percpu_http_stop(struct percpu_http *h);

PERCPU_EXTERN_C_END

#endif
