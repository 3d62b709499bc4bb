# SPDX-License-Identifier: Apache-2.0
# ojh_install_hooks_json(DESTINATION): installs the hooks.d files of the calling directory,
# oci-jail-hook-{create-runtime,poststop}.json.in, as .json into DESTINATION (relative to the
# install prefix). They carry the absolute path of the installed binary, so they are
# generated at install time from the final prefix (cmake --install --prefix P honours P).
function(ojh_install_hooks_json destination)
  foreach(stage create-runtime poststop)
    ojh_install_configured("${CMAKE_CURRENT_SOURCE_DIR}/oci-jail-hook-${stage}.json.in"
                           "${destination}")
  endforeach()
endfunction()

# ojh_install_configured(TEMPLATE DESTINATION): installs TEMPLATE (NAME.in) as NAME into
# DESTINATION (relative to the install prefix), with @OJH_HOOK_PATH@ replaced by the absolute
# path of the installed binary, known only at install time.
function(ojh_install_configured template destination)
  get_filename_component(name "${template}" NAME)
  string(REGEX REPLACE "\\.in$" "" name "${name}")
  # The generated file lives in a directory named after the prefix, so concurrent installs
  # into different prefixes (cpack beside cmake --install) never swap contents.
  install(CODE "
    set(OJH_HOOK_PATH \"\${CMAKE_INSTALL_PREFIX}/${OJH_HOOK_DIR}/oci-jail-hook\")
    string(MD5 _ojh_prefix_key \"\${CMAKE_INSTALL_PREFIX}\")
    set(_ojh_out \"${CMAKE_CURRENT_BINARY_DIR}/\${_ojh_prefix_key}/${name}\")
    configure_file(\"${template}\" \"\${_ojh_out}\" @ONLY)
    file(INSTALL \"\${_ojh_out}\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${destination}\")
  ")
endfunction()
