#!/bin/sh
# Pretends to scan a few sites, printing progress the way a real pipeline step would.
for site in alpha.example beta.example gamma.example; do
  echo "scanning $site (run $NIGHTSHIFT_RUN_ID, attempt $NIGHTSHIFT_ATTEMPT)"
  sleep 1
done
echo "scan complete"
