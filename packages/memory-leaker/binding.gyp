{
  "targets": [
    {
      "target_name": "populate",
      "sources": ["native/populate.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
