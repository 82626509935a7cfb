// SPDX-License-Identifier: MIT
/*
 * src/http/http.c: libpercpu-http, a registry's exposition served over
 * HTTP with GNU libmicrohttpd (see percpu/http.h).
 *
 * The listening socket is ours (socket, bind, listen), handed to
 * libmicrohttpd: so a failure to bind reports its real errno, and port 0
 * is read back with getsockname(). libmicrohttpd runs one internal thread
 * polling every connection (epoll where it can): a scrape is short, and
 * one thread keeps the cost of an idle server to a sleeping thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include <percpu/http.h>
#include <percpu/stats.h>

/* A client that says nothing for this long is dropped, so that idle
 * connections cannot pile up. */
#define HTTP_TIMEOUT_S 10u
#define HTTP_BACKLOG 64

#define TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define TYPE_OPENMETRICS \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"
#define MEDIA_OPENMETRICS "application/openmetrics-text"

struct percpu_http {
	struct MHD_Daemon *daemon;
	struct percpu_registry *registry;
	int port;
};

/* A short fixed answer: 404, 405 (with Allow) or 500. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int code,
				  const char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;	/* libmicrohttpd closes the connection */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Whether one of the Accept header's media ranges is OpenMetrics'
 * (parameters such as version and q aside), as Prometheus asks for it:
 * "application/openmetrics-text;version=1.0.0,...,text/plain;...".
 */
static int wants_openmetrics(const char *accept)
{
	size_t len = strlen(MEDIA_OPENMETRICS);

	while (accept && *accept) {
		accept += strspn(accept, " \t,");
		if (!strncasecmp(accept, MEDIA_OPENMETRICS, len) &&
		    strchr(" \t;,", accept[len]))
			return 1;
		accept = strchr(accept, ',');
	}
	return 0;
}

/* The exposition, built in memory: its length goes in Content-Length. */
static char *exposition(struct percpu_registry *r, int openmetrics,
			size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	int rc;

	if (!f)
		return NULL;
	rc = openmetrics ? percpu_registry_write_openmetrics(r, f)
			 : percpu_registry_write(r, f);
	if (fclose(f) || rc) {
		free(text);
		return NULL;
	}
	return text;
}

static enum MHD_Result reply_metrics(struct percpu_http *h,
				     struct MHD_Connection *c)
{
	int om = wants_openmetrics(MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = 0;
	char *text = exposition(h->registry, om, &len);

	if (!text)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "the exposition failed\n");
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				om ? TYPE_OPENMETRICS : TYPE_TEXT);
	/* The answer depends on Accept: caches must not mix the two. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Every request, answered at its first call (before any body is read: a
 * body is never wanted, and libmicrohttpd discards what follows). For
 * HEAD, libmicrohttpd sends the headers of the GET answer alone.
 */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(url, "/metrics"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n");
	return reply_metrics(cls, c);
}

/* addr:port as a socket address; errno as percpu_http_start() says. */
static struct addrinfo *resolve(const char *addr, unsigned int port)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai;
	char service[16];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(addr ? addr : "0.0.0.0", service, &hints, &ai);
	if (!rc)
		return ai;
	if (rc == EAI_MEMORY)
		errno = ENOMEM;
	else if (rc != EAI_SYSTEM)
		errno = EINVAL;
	return NULL;
}

/* A listening socket on addr:port, its port in *bound; or -1, errno set. */
static int listen_on(const char *addr, unsigned int port, int *bound)
{
	struct addrinfo *ai = resolve(addr, port);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const int on = 1;
	int fd, saved;

	if (!ai)
		return -1;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	/* SO_REUSEADDR: a restarted server binds its port at once, though
	 * the last run's connections linger in TIME_WAIT. */
	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
			bind(fd, ai->ai_addr, ai->ai_addrlen) ||
			listen(fd, HTTP_BACKLOG) ||
			getsockname(fd, (struct sockaddr *)&ss, &len))) {
		saved = errno;
		close(fd);
		errno = saved;
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)	/* sin_port and sin6_port lie at the same offset */
		*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

struct percpu_http *percpu_http_start(struct percpu_registry *r,
				      const char *addr, unsigned int port)
{
	struct percpu_http *h;
	int fd;

	if (!r || port > 65535) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->registry = r;
	fd = listen_on(addr, port, &h->port);
	if (fd < 0) {
		free(h);
		return NULL;
	}
	/* On failure the socket is not closed here: whether libmicrohttpd
	 * has closed it is not documented, and closing it twice could close
	 * a descriptor another thread has just opened. A leak is the lesser
	 * harm, in a failure as rare as a thread that cannot start. */
	h->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL,
				     answer, h, MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!h->daemon) {
		free(h);
		errno = EIO;
		return NULL;
	}
	return h;
}

int percpu_http_port(const struct percpu_http *h)
{
	if (!h) {
		errno = EINVAL;
		return -1;
	}
	return h->port;
}

void percpu_http_stop(struct percpu_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
