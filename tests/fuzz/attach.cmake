# Passed by scripts/fuzz.sh as CMAKE_PROJECT_INCLUDE: attaches tests/fuzz at the end of the top
# CMakeLists.txt when tests/CMakeLists.txt does not (yet) add it itself, so the fuzz build works
# either way. A no-op when the fuzz targets already exist.
macro(af_fuzz_attach)
  if(NOT TARGET fuzz_all)
    # Deferred code may not add_subdirectory; the fuzz CMakeLists.txt is written to be included.
    include(${CMAKE_SOURCE_DIR}/tests/fuzz/CMakeLists.txt)
  endif()
endmacro()
cmake_language(DEFER CALL af_fuzz_attach)
