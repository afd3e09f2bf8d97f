#!/bin/sh
# The seed directories of one fuzz harness (fuzz_NAME): its corpus in
# tests/fuzz/corpus/NAME, and for the policy parser the policy files the
# tests and conf/ already hold (read from where they are, not copied).
name=${1#fuzz_}
echo "tests/fuzz/corpus/$name"
case $name in
config) echo "tests/config/good tests/config/bad conf" ;;
esac
