# A real IPFIX collector for docker/compose.yaml: nfdump's nfcapd from
# Debian. nfcapd writes a file every -t seconds; nfdump reads them.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends nfdump \
    && rm -rf /var/lib/apt/lists/*
VOLUME /var/lib/nfcapd
CMD ["nfcapd", "-b", "127.0.0.1", "-p", "4739", "-w", "/var/lib/nfcapd", "-t", "300"]
