# sluis_output.R: write a result table together with what the output checks need (A5, B11).
#
# The R twin of sluis_output.py, in base R only (no jsonlite: Debian's r-base-core does not
# ship it), so it runs in the enclave's sandbox and on a researcher's computer alike:
#
#   source(Sys.getenv("SLUIS_OUTPUT_R", "sluis_output.R"))
#   persons <- read.csv(file.path(sluis_data_dir(), "csv", "person.csv"))
#   counts <- aggregate(list(n = persons$sex), persons[c("region", "sex")], length)
#   sluis_table(counts, "persons_by_region_sex", kind = "count", count = "n")
#
# sluis_table() writes <name>.csv and <name>.meta.json (every cell's count and contributors;
# for a magnitude table its total and two largest contributions, which stay out of the CSV);
# sluis_model() records a model's residual degrees of freedom. Files go to SLUIS_OUTPUT
# (/output in the enclave), else to ./output. The sidecar format is the Python library's;
# R has no SHA-256 in base, so the sidecar records the CSV's MD5 ("md5") instead of "sha256".
# See docs/enclave.md, "Helper library".

sluis_data_dir <- function() {
  value <- Sys.getenv("SLUIS_DATA")
  if (!nzchar(value)) stop("SLUIS_DATA is not set: point it at the package's data/ folder")
  value
}

sluis_output_dir <- function() {
  path <- Sys.getenv("SLUIS_OUTPUT")
  if (!nzchar(path)) path <- "output"
  dir.create(path, showWarnings = FALSE, recursive = TRUE)
  path
}

sluis_table <- function(data, name, kind = "count", count = NULL, value = NULL,
                        contributors = NULL, top1 = "top1", top2 = "top2",
                        dimensions = NULL, unit = "persons", population = NULL,
                        output = NULL) {
  data <- as.data.frame(data, stringsAsFactors = FALSE)
  .sluis_check_name(name)
  columns <- names(data)
  if (kind == "count") {
    if (is.null(count)) count <- if ("n" %in% columns) "n" else "count"
    roles <- list(count = count, contributors = contributors)
  } else if (kind == "magnitude") {
    if (is.null(value)) value <- if ("total" %in% columns) "total" else "sum"
    if (is.null(contributors)) contributors <- "n"
    roles <- list(sum = value, contributors = contributors, top1 = top1, top2 = top2)
  } else {
    stop(sprintf("kind must be count or magnitude, got %s", kind))
  }
  roles <- roles[!vapply(roles, is.null, logical(1))]
  for (role in names(roles)) {
    if (!(roles[[role]] %in% columns)) {
      stop(sprintf("%s: no column %s for %s", name, roles[[role]], role))
    }
  }
  used <- unlist(roles, use.names = FALSE)
  if (is.null(dimensions)) dimensions <- setdiff(columns, used)
  hidden <- if (kind == "magnitude") c(top1, top2) else character(0)
  shown <- columns[columns %in% c(dimensions, used) & !(columns %in% hidden)]
  if (is.null(output)) output <- sluis_output_dir()
  dir.create(output, showWarnings = FALSE, recursive = TRUE)
  csv_path <- file.path(output, paste0(name, ".csv"))
  .sluis_write(csv_path, function(path) {
    utils::write.csv(data[shown], path, row.names = FALSE, na = "", fileEncoding = "UTF-8")
  })
  keys <- vapply(dimensions, function(d) {
    paste0(.sluis_json_string(d), ":", .sluis_json_array(data[[d]]))
  }, character(1))
  cells <- c(
    paste0("\"keys\":{", paste(keys, collapse = ","), "}"),
    vapply(names(roles), function(role) {
      values <- data[[roles[[role]]]]
      if (!is.numeric(values)) stop(sprintf("%s: column %s is not numeric", name, roles[[role]]))
      paste0(.sluis_json_string(role), ":", .sluis_json_array(values))
    }, character(1))
  )
  role_names <- vapply(names(roles), function(role) {
    paste0(.sluis_json_string(role), ":", .sluis_json_string(roles[[role]]))
  }, character(1))
  meta <- paste0(
    "{\"sluis_output\":1,\"kind\":", .sluis_json_string(kind),
    ",\"file\":", .sluis_json_string(basename(csv_path)),
    ",\"md5\":", .sluis_json_string(unname(tools::md5sum(csv_path))),
    ",\"rows\":", nrow(data),
    ",\"dimensions\":[", paste(vapply(dimensions, .sluis_json_string, character(1)),
                               collapse = ","), "]",
    ",\"columns\":{", paste(role_names, collapse = ","), "}",
    ",\"unit\":", .sluis_json_string(unit),
    ",\"population\":", if (is.null(population)) "null" else .sluis_json_string(population),
    ",\"cells\":{", paste(cells, collapse = ","), "}}\n"
  )
  .sluis_write(file.path(output, paste0(name, ".meta.json")), function(path) {
    writeLines(meta, path, sep = "", useBytes = TRUE)
  })
  invisible(csv_path)
}

sluis_model <- function(name, residual_df, n_obs = NULL, n_params = NULL, method = NULL,
                        coefficients = NULL, output = NULL) {
  .sluis_check_name(name)
  if (residual_df != round(residual_df)) stop(sprintf("%s: residual_df must be whole", name))
  if (is.null(output)) output <- sluis_output_dir()
  dir.create(output, showWarnings = FALSE, recursive = TRUE)
  file <- "null"
  digest <- "null"
  if (!is.null(coefficients)) {
    csv_path <- file.path(output, paste0(name, ".csv"))
    .sluis_write(csv_path, function(path) {
      utils::write.csv(as.data.frame(coefficients), path, row.names = FALSE, na = "",
                       fileEncoding = "UTF-8")
    })
    file <- .sluis_json_string(basename(csv_path))
    digest <- .sluis_json_string(unname(tools::md5sum(csv_path)))
  }
  number <- function(x) if (is.null(x)) "null" else format(x, scientific = FALSE)
  meta <- paste0(
    "{\"sluis_output\":1,\"kind\":\"model\",\"file\":", file, ",\"md5\":", digest,
    ",\"residual_df\":", format(as.integer(residual_df)),
    ",\"n_obs\":", number(n_obs), ",\"n_params\":", number(n_params),
    ",\"method\":", if (is.null(method)) "null" else .sluis_json_string(method), "}\n"
  )
  path <- file.path(output, paste0(name, ".meta.json"))
  .sluis_write(path, function(p) writeLines(meta, p, sep = "", useBytes = TRUE))
  invisible(path)
}

.sluis_check_name <- function(name) {
  if (!nzchar(name) || grepl("[/\\\\]", name) || startsWith(name, ".")) {
    stop(sprintf("output name must be a plain file name, got %s", name))
  }
}

# write through a temporary file in the same folder, then rename: never half a file
.sluis_write <- function(path, writer) {
  tmp <- tempfile(pattern = paste0(".", basename(path), "."), tmpdir = dirname(path))
  ok <- FALSE
  on.exit(if (!ok) unlink(tmp))
  writer(tmp)
  if (!file.rename(tmp, path)) stop(sprintf("cannot write %s", path))
  ok <- TRUE
  invisible(path)
}

.sluis_json_string <- function(x) {
  x <- enc2utf8(as.character(x))
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\"", "\\\"", x, fixed = TRUE)
  x <- gsub("\n", "\\n", x, fixed = TRUE)
  x <- gsub("\r", "\\r", x, fixed = TRUE)
  x <- gsub("\t", "\\t", x, fixed = TRUE)
  x <- gsub("[[:cntrl:]]", " ", x)
  paste0("\"", x, "\"")
}

.sluis_json_array <- function(values) {
  if (is.factor(values)) values <- as.character(values)
  out <- if (is.logical(values)) {
    ifelse(values, "true", "false")
  } else if (is.numeric(values)) {
    trimws(formatC(values, digits = 15, format = "g"))
  } else {
    .sluis_json_string(values)
  }
  out[is.na(values)] <- "null"
  paste0("[", paste(out, collapse = ","), "]")
}
