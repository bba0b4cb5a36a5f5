# Locates the frameworks inside the project's .venv (installed from third_party/requirements.txt)
# and defines imported targets for them. See .bazelrc-notes.md for why each flag is there.
set(DUOSERVE_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python with the pinned wheels")
execute_process(
  COMMAND "${DUOSERVE_PYTHON}" "${CMAKE_SOURCE_DIR}/third_party/locate_frameworks.py"
  OUTPUT_VARIABLE _located RESULT_VARIABLE _rc ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "Cannot locate the frameworks with ${DUOSERVE_PYTHON} (run scripts/setup.sh): ${_err}")
endif()
string(REPLACE "\n" ";" _lines "${_located}")
foreach(_line IN LISTS _lines)
  if(_line MATCHES "^([A-Z0-9_]+)=(.*)$")
    set(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  endif()
endforeach()
message(STATUS "duoserve: libtensorflow from ${TF_LIB_DIR}")
message(STATUS "duoserve: libtorch ${TORCH_VERSION} from ${TORCH_LIB_DIR} (_GLIBCXX_USE_CXX11_ABI=${TORCH_CXX11_ABI})")
message(STATUS "duoserve: libLiteRt from ${LITERT_LIB_DIR}, headers from ${LITERT_INCLUDE_DIR}")

# TensorFlow: C API only. The C API functions live in libtensorflow_cc.so.2; TF_Status,
# TF_Tensor and friends in libtensorflow_framework.so.2. Both are needed on the link line.
add_library(tensorflow_c INTERFACE)
target_include_directories(tensorflow_c SYSTEM INTERFACE "${TF_INCLUDE_DIR}")
target_link_libraries(tensorflow_c INTERFACE
  "${TF_LIB_DIR}/libtensorflow_cc.so.2" "${TF_LIB_DIR}/libtensorflow_framework.so.2")

# libtorch: CPU libraries only (libtorch.so would pull libtorch_cuda and the CUDA stack).
add_library(libtorch_cpu INTERFACE)
target_include_directories(libtorch_cpu SYSTEM INTERFACE
  "${TORCH_INCLUDE_DIR}" "${TORCH_INCLUDE_DIR}/torch/csrc/api/include")
target_compile_definitions(libtorch_cpu INTERFACE _GLIBCXX_USE_CXX11_ABI=${TORCH_CXX11_ABI})
# --no-as-needed: libtorch_cpu's operator registrations run from static initialisers; a
# linker that drops "unused" libraries would silently lose every operator.
target_link_libraries(libtorch_cpu INTERFACE
  -Wl,--no-as-needed "${TORCH_LIB_DIR}/libtorch_cpu.so" "${TORCH_LIB_DIR}/libc10.so" -Wl,--as-needed)

# LiteRT (TensorFlow Lite's runtime): its C API only, from libLiteRt.so, which exports nothing
# but LiteRt* functions (its TFLite internals stay hidden, so they cannot meet libtensorflow's).
# The RPATH travels with the target: an addon that links it finds the library in the .venv.
add_library(litert_c INTERFACE)
target_include_directories(litert_c SYSTEM INTERFACE "${LITERT_INCLUDE_DIR}")
target_link_libraries(litert_c INTERFACE "${LITERT_LIB_DIR}/libLiteRt.so")
target_link_options(litert_c INTERFACE "LINKER:-rpath,${LITERT_LIB_DIR}")
