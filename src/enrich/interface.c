/*
 * The interface enricher (see include/ctflow/enrich-interface.h): owns
 * the capture handle, the two rtnetlink sockets (events; requests for
 * route lookups and link dumps) and the epoll descriptor over them, all
 * created inside the watched namespace; feeds captured frames to the
 * sample table (interface-samples.c), events to the link table (links.c)
 * and the route cache (route.c), and combines samples and routes into
 * answers. It does not decide when to look up, nor export anything.
 *
 * Kernel facts this relies on:
 * - a packet socket, like any socket, stays in the namespace it was
 *   created in, whatever thread reads it later;
 * - on the `any` device libpcap reads a cooked socket whose filter runs
 *   on the network header; libpcap rewrites the SLL2 offsets of a
 *   compiled filter into ancillary loads (ifindex, pkttype, protocol);
 * - without immediate mode libpcap uses TPACKET_V3: frames reach user
 *   space a block at a time, when a block is full or its timeout expires;
 * - IPv4 does not announce the routes it drops when a link goes down, so
 *   the route cache is flushed on every link message too.
 */
#define G_LOG_DOMAIN "ctflow-enrich-if"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <linux/rtnetlink.h>
#include <pcap/pcap.h>

#include "ctflow/enrich-interface.h"
#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"
#include "rtnl.h"

#define DEFAULT_SAMPLE_EVERY 64
#define DEFAULT_SNAPLEN 128
#define DEFAULT_RING_TIMEOUT_MS 50
#define DEFAULT_RING_BYTES (4u << 20)
#define DEFAULT_MAX_SAMPLES 65536
#define DEFAULT_MAX_ROUTES 4096
#define DEFAULT_LINKS_REFRESH_S 60
#define FRAMES_PER_CALL 4096		/* bounds one _process() call */
#define EVENTS_PER_CALL 64		/* datagrams */
#define REQ_TIMEOUT_MS 1000		/* route answers come at once; dumps soon */
#define EVENT_RCVBUF (4u << 20)

struct ctf_if_enricher {
	char *netns;			/* for messages: name or "current" */
	char **interfaces;		/* NULL: any */
	bool sampling, routing;
	unsigned sample_every;
	int epfd;
	int timerfd;			/* link refresh; -1: none */
	struct mnl_socket *ev;
	struct ctf_rtnl_req req;
	pcap_t *pcap;
	char *filter;
	GArray *filter_ifs;		/* uint32_t ifindexes the filter names */
	uint64_t filter_links_gen;	/* link generation the filter was made at */
	ctf_if_samples *samples;
	struct ctf_routes *routes;
	struct ctf_links *links;
	uint8_t *evbuf;			/* CTF_RTNL_BUF_SIZE */
	struct ctf_if_stats stats;
};

void ctf_if_config_init(struct ctf_if_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sampling = true;
	cfg->routing = true;
	cfg->sample_every = DEFAULT_SAMPLE_EVERY;
	cfg->snaplen = DEFAULT_SNAPLEN;
	cfg->ring_timeout_ms = DEFAULT_RING_TIMEOUT_MS;
	cfg->ring_bytes = DEFAULT_RING_BYTES;
	cfg->max_samples = DEFAULT_MAX_SAMPLES;
	cfg->max_routes = DEFAULT_MAX_ROUTES;
	cfg->links_refresh_s = DEFAULT_LINKS_REFRESH_S;
}

void ctf_if_enricher_free(ctf_if_enricher *ie)
{
	if (!ie)
		return;
	if (ie->pcap)
		pcap_close(ie->pcap);
	if (ie->ev)
		mnl_socket_close(ie->ev);
	if (ie->req.nl)
		mnl_socket_close(ie->req.nl);
	if (ie->epfd >= 0)
		close(ie->epfd);
	if (ie->timerfd >= 0)
		close(ie->timerfd);
	ctf_routes_free(ie->routes);
	ctf_links_free(ie->links);
	ctf_if_samples_free(ie->samples);
	if (ie->filter_ifs)
		g_array_unref(ie->filter_ifs);
	g_strfreev(ie->interfaces);
	g_free(ie->filter);
	g_free(ie->req.buf);
	g_free(ie->evbuf);
	g_free(ie->netns);
	g_free(ie);
}

static gboolean config_check(const struct ctf_if_config *cfg, GError **error)
{
	if (!cfg->sampling && !cfg->routing) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "interface enrichment needs sampling or routing (both are off)");
		return FALSE;
	}
	if (cfg->sample_every > CTF_IF_SAMPLE_EVERY_MAX) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "interface sampling 1 in %u: at most 1 in %u", cfg->sample_every,
			    CTF_IF_SAMPLE_EVERY_MAX);
		return FALSE;
	}
	if (cfg->snaplen && (cfg->snaplen < 64 || cfg->snaplen > 65535)) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "interface sampling snaplen %u: must be 64..65535", cfg->snaplen);
		return FALSE;
	}
	for (const char *const *p = cfg->interfaces; p && *p; p++) {
		if (!**p || strlen(*p) >= CTF_IF_NAME_MAX) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				    "interface name \"%s\" is not a valid name", *p);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean set_error_cap(GError **error, int err, const ctf_if_enricher *ie,
			      const char *what, const char *cap)
{
	if (cap && (err == EPERM || err == EACCES))
		return ctf_set_error_errno(error, err, "%s in network namespace %s needs %s",
					   what, ie->netns, cap);
	return ctf_set_error_errno(error, err, "%s in network namespace %s", what, ie->netns);
}

/* ---- rtnetlink sockets ---------------------------------------------- */

static gboolean open_rtnl(ctf_if_enricher *ie, GError **error)
{
	struct timeval tv = { .tv_sec = REQ_TIMEOUT_MS / 1000,
			      .tv_usec = REQ_TIMEOUT_MS % 1000 * 1000 };
	unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			  RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE;
	int v = EVENT_RCVBUF;

	/* IPv6 rules have no RTMGRP_ mask: its group is 19 */
	groups |= 1u << (RTNLGRP_IPV6_RULE - 1);
	ie->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!ie->ev)
		return set_error_cap(error, errno, ie, "opening an rtnetlink socket", NULL);
	setsockopt(mnl_socket_get_fd(ie->ev), SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (mnl_socket_bind(ie->ev, groups, MNL_SOCKET_AUTOPID) < 0)
		return set_error_cap(error, errno, ie, "subscribing to link and route events",
				     "CAP_NET_ADMIN");
	ie->req.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ie->req.nl || mnl_socket_bind(ie->req.nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return set_error_cap(error, errno, ie, "opening an rtnetlink socket", NULL);
	setsockopt(mnl_socket_get_fd(ie->req.nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ie->req.portid = mnl_socket_get_portid(ie->req.nl);
	return TRUE;
}

/* ---- capture ------------------------------------------------------------ */

static gboolean pcap_fail(GError **error, ctf_if_enricher *ie, int r, const char *what)
{
	const char *msg = ie->pcap ? pcap_geterr(ie->pcap) : "";

	if (r == PCAP_ERROR_PERM_DENIED)
		return set_error_cap(error, EPERM, ie, "capturing interface samples",
				     "CAP_NET_RAW");
	g_set_error(error, CTF_ERROR, CTF_ERROR_IO,
		    "%s for interface samples in network namespace %s: %s%s%s", what,
		    ie->netns, pcap_statustostr(r), *msg ? ": " : "", msg);
	return FALSE;
}

static gboolean open_capture(ctf_if_enricher *ie, const struct ctf_if_config *cfg,
			     GError **error)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int r;

	ie->pcap = pcap_create("any", errbuf);
	if (!ie->pcap) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_IO,
			    "opening a capture in network namespace %s: %s", ie->netns, errbuf);
		return FALSE;
	}
	pcap_set_snaplen(ie->pcap, (int)(cfg->snaplen ? cfg->snaplen : DEFAULT_SNAPLEN));
	pcap_set_promisc(ie->pcap, 0);
	/* no immediate mode: TPACKET_V3 hands over whole blocks, one wakeup
	 * for many samples, at most ring_timeout_ms late */
	pcap_set_immediate_mode(ie->pcap, 0);
	pcap_set_timeout(ie->pcap, (int)(cfg->ring_timeout_ms ? cfg->ring_timeout_ms
							      : DEFAULT_RING_TIMEOUT_MS));
	pcap_set_buffer_size(ie->pcap, (int)MIN(cfg->ring_bytes ? cfg->ring_bytes
								: DEFAULT_RING_BYTES,
						(size_t)1 << 30));
	r = pcap_activate(ie->pcap);
	if (r < 0)
		return pcap_fail(error, ie, r, "starting a capture");
	if (pcap_set_datalink(ie->pcap, DLT_LINUX_SLL2) < 0)
		return pcap_fail(error, ie, PCAP_ERROR, "selecting DLT_LINUX_SLL2 (libpcap >= 1.10)");
	if (pcap_setnonblock(ie->pcap, 1, errbuf) < 0 || pcap_get_selectable_fd(ie->pcap) < 0)
		return pcap_fail(error, ie, PCAP_ERROR, "making the capture non-blocking");
	return TRUE;
}

/* The ifindexes of the configured names as the link table has them now,
 * in configuration order; NULL for `any`. */
static GArray *configured_ifindexes(const ctf_if_enricher *ie)
{
	GArray *a;

	if (!ie->interfaces)
		return NULL;
	a = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	for (char **p = ie->interfaces; *p; p++) {
		uint32_t idx = ctf_links_find_name(ie->links, *p);

		if (idx)
			g_array_append_val(a, idx);
	}
	return a;
}

static bool same_ifs(const GArray *a, const GArray *b)
{
	if (!a || !b)
		return a == b;
	return a->len == b->len && !memcmp(a->data, b->data, a->len * sizeof(uint32_t));
}

/* Compile and install the filter for the current ifindexes of the
 * configured interfaces (takes ownership of @ifs). None present: ifindex
 * 0, which no frame has. */
static gboolean install_filter(ctf_if_enricher *ie, GArray *ifs, GError **error)
{
	static const uint32_t none = 0;
	struct bpf_program prog;
	g_autofree char *expr = NULL;
	int r;

	if (ifs)
		expr = ctf_if_sample_filter(ie->sample_every,
					    ifs->len ? (const uint32_t *)(void *)ifs->data : &none,
					    ifs->len ? ifs->len : 1);
	else
		expr = ctf_if_sample_filter(ie->sample_every, NULL, 0);
	r = pcap_compile(ie->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (r == 0) {
		r = pcap_setfilter(ie->pcap, &prog);
		pcap_freecode(&prog);
	}
	if (r < 0) {
		if (ifs)
			g_array_unref(ifs);
		return pcap_fail(error, ie, r, "installing the sample filter");
	}
	g_free(ie->filter);
	ie->filter = g_steal_pointer(&expr);
	if (ie->filter_ifs)
		g_array_unref(ie->filter_ifs);
	ie->filter_ifs = ifs;
	ie->filter_links_gen = ctf_links_generation(ie->links);
	return TRUE;
}

static gboolean check_interfaces(const ctf_if_enricher *ie, GError **error)
{
	for (char **p = ie->interfaces; p && *p; p++) {
		if (!ctf_links_find_name(ie->links, *p)) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				    "interface %s does not exist in network namespace %s", *p,
				    ie->netns);
			return FALSE;
		}
	}
	return TRUE;
}

/* ---- open ------------------------------------------------------------------- */

static gboolean open_in_netns(ctf_if_enricher *ie, const struct ctf_if_config *cfg,
			      GError **error)
{
	struct ctf_netns_scope scope;
	gboolean ok;

	if (!ctf_netns_enter(cfg->netns, &scope, NULL, error))
		return FALSE;
	/* every socket is created inside; the thread leaves whatever happened */
	ok = open_rtnl(ie, error) && (!ie->sampling || open_capture(ie, cfg, error));
	ctf_netns_leave(&scope);
	return ok;
}

static gboolean epoll_add(ctf_if_enricher *ie, int fd, GError **error)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(ie->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return ctf_set_error_errno(error, errno, "adding a descriptor to epoll");
	return TRUE;
}

static gboolean start_refresh_timer(ctf_if_enricher *ie, unsigned seconds, GError **error)
{
	struct itimerspec its = { .it_interval.tv_sec = seconds, .it_value.tv_sec = seconds };

	if (!seconds)
		return TRUE;
	ie->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ie->timerfd < 0 || timerfd_settime(ie->timerfd, 0, &its, NULL) < 0)
		return ctf_set_error_errno(error, errno, "starting the link refresh timer");
	return epoll_add(ie, ie->timerfd, error);
}

ctf_if_enricher *ctf_if_enricher_new(const struct ctf_if_config *cfg, GError **error)
{
	g_autoptr(ctf_if_enricher) ie = NULL;

	if (!cfg) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "no interface enricher configuration");
		return NULL;
	}
	if (!config_check(cfg, error))
		return NULL;
	ie = g_new0(ctf_if_enricher, 1);
	ie->epfd = -1;
	ie->timerfd = -1;
	ie->netns = g_strdup(cfg->netns ? cfg->netns : "(current)");
	ie->interfaces = cfg->interfaces ? g_strdupv((char **)cfg->interfaces) : NULL;
	ie->sampling = cfg->sampling;
	ie->routing = cfg->routing;
	ie->sample_every = cfg->sample_every;
	ie->req.buf = g_malloc(CTF_RTNL_BUF_SIZE);
	ie->evbuf = g_malloc(CTF_RTNL_BUF_SIZE);
	ie->links = ctf_links_new();
	ie->routes = ctf_routes_new(&ie->req, cfg->max_routes ? cfg->max_routes
							      : DEFAULT_MAX_ROUTES);
	if (!open_in_netns(ie, cfg, error))
		return NULL;
	ie->stats.link_dumps++;
	if (!ctf_links_dump(ie->links, &ie->req, error)) {
		g_prefix_error(error, "network namespace %s: ", ie->netns);
		return NULL;
	}
	if (!check_interfaces(ie, error))
		return NULL;
	ie->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ie->epfd < 0)
		return ctf_set_error_errno(error, errno, "creating an epoll descriptor"), NULL;
	if (!epoll_add(ie, mnl_socket_get_fd(ie->ev), error) ||
	    !start_refresh_timer(ie, cfg->links_refresh_s, error))
		return NULL;
	if (ie->sampling) {
		ie->samples = ctf_if_samples_new(cfg->max_samples ? cfg->max_samples
								  : DEFAULT_MAX_SAMPLES);
		if (!install_filter(ie, configured_ifindexes(ie), error) ||
		    !epoll_add(ie, pcap_get_selectable_fd(ie->pcap), error))
			return NULL;
	}
	return g_steal_pointer(&ie);
}

/* ---- processing ----------------------------------------------------------- */

int ctf_if_enricher_fd(const ctf_if_enricher *ie)
{
	return ie->epfd;
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	ctf_if_enricher *ie = (ctf_if_enricher *)(void *)user;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

	ie->stats.frames++;
	if (ctf_if_samples_add_frame(ie->samples, pcap_datalink(ie->pcap), bytes, h->caplen, ts) < 0)
		ie->stats.frames_unusable++;
}

/* A configured interface re-created under its name has a new ifindex:
 * follow it. Failing to recompile keeps the old filter (counted). */
static void refilter(ctf_if_enricher *ie)
{
	g_autoptr(GError) err = NULL;
	GArray *ifs;

	if (!ie->interfaces || ie->filter_links_gen == ctf_links_generation(ie->links))
		return;
	ifs = configured_ifindexes(ie);
	if (same_ifs(ifs, ie->filter_ifs)) {
		g_array_unref(ifs);
		ie->filter_links_gen = ctf_links_generation(ie->links);
		return;
	}
	if (!install_filter(ie, ifs, &err))
		ie->stats.pcap_errors++;
}

static void handle_event(ctf_if_enricher *ie, const struct nlmsghdr *nlh)
{
	ie->stats.netlink_events++;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		ctf_links_apply(ie->links, nlh);
		ctf_routes_flush(ie->routes);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWRULE:
	case RTM_DELRULE:
		ctf_routes_flush(ie->routes);
		break;
	}
}

/* Read the link table again; what changed flushes the routes too. */
static int relink(ctf_if_enricher *ie)
{
	g_autoptr(GError) err = NULL;
	uint64_t gen = ctf_links_generation(ie->links);

	ie->stats.link_dumps++;
	if (!ctf_links_dump(ie->links, &ie->req, &err))
		return -EIO;
	if (gen != ctf_links_generation(ie->links))
		ctf_routes_flush(ie->routes);
	return 0;
}

/* Events were lost: everything derived from them is read again. */
static int resync(ctf_if_enricher *ie)
{
	ie->stats.netlink_overruns++;
	ctf_routes_flush(ie->routes);
	return relink(ie);
}

/* The refresh timer: silent alias changes (interfaces that are down). */
static int refresh(ctf_if_enricher *ie)
{
	uint64_t expirations;

	if (ie->timerfd < 0 || read(ie->timerfd, &expirations, sizeof(expirations)) <= 0)
		return 0;
	return relink(ie);
}

static int read_events(ctf_if_enricher *ie)
{
	int fd = mnl_socket_get_fd(ie->ev), handled = 0;

	for (int i = 0; i < EVENTS_PER_CALL; i++) {
		ssize_t n = recv(fd, ie->evbuf, CTF_RTNL_BUF_SIZE, MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)ie->evbuf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS) {
				int r = resync(ie);

				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len), handled++)
			handle_event(ie, nlh);
	}
	return handled;
}

int ctf_if_enricher_process(ctf_if_enricher *ie)
{
	int handled = 0, r;

	if (ie->pcap) {
		r = pcap_dispatch(ie->pcap, FRAMES_PER_CALL, on_frame, (u_char *)ie);
		if (r > 0)
			handled += r;
		else if (r < 0)
			ie->stats.pcap_errors++;
	}
	r = read_events(ie);
	if (r >= 0) {
		handled += r;
		r = refresh(ie);
	}
	if (ie->pcap)
		refilter(ie);
	return r < 0 ? r : handled;
}

/* ---- lookup ----------------------------------------------------------- */

/* Addresses a route lookup cannot answer truthfully: unspecified,
 * multicast, and IPv6 link-local (the zone is not in the tuple). */
static bool routable(uint8_t family, const struct ctf_addr *a)
{
	static const struct ctf_addr zero;

	if (!memcmp(a, &zero, sizeof(zero)))
		return false;
	if (family == 4)
		return (a->b[0] & 0xf0) != 0xe0 && !(a->b[0] == 255 && a->b[1] == 255 &&
						       a->b[2] == 255 && a->b[3] == 255);
	return a->b[0] != 0xff && !(a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80);
}

static bool route_of(ctf_if_enricher *ie, uint8_t family, const struct ctf_addr *a,
		     struct ctf_route_answer *ret)
{
	if (!routable(family, a))
		return false;
	return ctf_routes_get(ie->routes, family, a, ret) == 0;
}

/*
 * Ingress from the route back to the source, egress from the route to the
 * post-NAT destination (the reply's source). A local end has no interface
 * on its side: traffic from this host has no ingress, traffic to it no
 * egress (both 0, source ROUTE); when both ends are local the packets
 * cross the loopback device both ways, which is what the local route
 * names.
 */
static void route_fill(ctf_if_enricher *ie, const struct ctf_ct_entry *e, struct ctf_if_info *ret)
{
	struct ctf_route_answer src, dst;
	bool have_src = route_of(ie, e->family, &e->orig.src, &src);
	bool have_dst = route_of(ie, e->family, &e->reply.src, &dst);
	bool src_local = have_src && src.type == RTN_LOCAL;
	bool dst_local = have_dst && dst.type == RTN_LOCAL;

	if (!ret->ingress_if && ret->ingress_src == CTF_IF_UNKNOWN && have_src) {
		if (src.type == RTN_UNICAST && src.oif) {
			ret->ingress_if = src.oif;
			ret->ingress_src = CTF_IF_ROUTE;
		} else if (src_local) {
			ret->ingress_if = dst_local ? src.oif : 0;
			ret->ingress_src = CTF_IF_ROUTE;
		}
	}
	if (!ret->egress_if && ret->egress_src == CTF_IF_UNKNOWN && have_dst) {
		if (dst.type == RTN_UNICAST && dst.oif) {
			ret->egress_if = dst.oif;
			ret->egress_src = CTF_IF_ROUTE;
		} else if (dst_local || dst.type == RTN_BROADCAST || dst.type == RTN_MULTICAST) {
			/* delivered here unless this host sent it */
			ret->egress_if = src_local ? dst.oif : 0;
			ret->egress_src = CTF_IF_ROUTE;
		}
	}
}

static void count_answer(uint64_t *sampled, uint64_t *routed, uint64_t *unknown, uint8_t src)
{
	if (src == CTF_IF_SAMPLED)
		(*sampled)++;
	else if (src == CTF_IF_ROUTE)
		(*routed)++;
	else
		(*unknown)++;
}

void ctf_if_enricher_lookup(ctf_if_enricher *ie, const struct ctf_ct_entry *e,
			    struct ctf_if_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	ie->stats.lookups++;
	if (e->family != 4 && e->family != 6)
		goto out;
	if (ie->samples)
		ctf_if_samples_lookup(ie->samples, e, ret);
	if (ie->routing && (!ret->ingress_if || !ret->egress_if))
		route_fill(ie, e, ret);
out:
	count_answer(&ie->stats.ingress_sampled, &ie->stats.ingress_routed,
		     &ie->stats.ingress_unknown, ret->ingress_src);
	count_answer(&ie->stats.egress_sampled, &ie->stats.egress_routed,
		     &ie->stats.egress_unknown, ret->egress_src);
}

/* ---- links, stats ---------------------------------------------------------- */

const struct ctf_if_link *ctf_if_enricher_links(const ctf_if_enricher *ie, size_t *ret_n)
{
	return ctf_links_all(ie->links, ret_n);
}

const struct ctf_if_link *ctf_if_enricher_link(const ctf_if_enricher *ie, uint32_t ifindex)
{
	return ctf_links_get(ie->links, ifindex);
}

uint64_t ctf_if_enricher_links_generation(const ctf_if_enricher *ie)
{
	return ctf_links_generation(ie->links);
}

const char *ctf_if_enricher_filter(const ctf_if_enricher *ie)
{
	return ie->filter ? ie->filter : "";
}

void ctf_if_enricher_get_stats(ctf_if_enricher *ie, struct ctf_if_stats *ret)
{
	struct ctf_routes_stats rs;
	struct pcap_stat ps;

	if (ie->pcap && pcap_stats(ie->pcap, &ps) == 0)
		ie->stats.pcap_drops = ps.ps_drop;
	if (ie->samples)
		ie->stats.sample_evictions = ctf_if_samples_evictions(ie->samples);
	ctf_routes_get_stats(ie->routes, &rs);
	ie->stats.route_queries = rs.queries;
	ie->stats.route_cache_hits = rs.hits;
	ie->stats.route_errors = rs.errors;
	ie->stats.route_flushes = rs.flushes;
	ie->stats.link_generation = ctf_links_generation(ie->links);
	*ret = ie->stats;
}
