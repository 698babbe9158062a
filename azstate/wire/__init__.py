"""The only package that knows Azkaban's HTTP format.

calls (typed arguments -> Call), detect (reply -> AzkabanError), replies (reply -> values) are
pure; client sends Calls over HTTP and is the only module that imports requests.
"""
