#ifndef ENKG_H5_CAPI_H
#define ENKG_H5_CAPI_H
#include <hdf5.h>

void enkg_last_error(char *buf, size_t cap);
herr_t enkg_member(hid_t dset, int rank, hsize_t i, hsize_t nx, hsize_t ny, double *buf, int write);
herr_t enkg_flags(hid_t dset, hsize_t i, hsize_t count, unsigned char *buf, int write);
int enkg_type_info(hid_t type, int *cls, size_t *size, int *vlstr);
int enkg_dset_type(hid_t dset, int *cls, size_t *size, int *vlstr);
int enkg_attr_info(hid_t loc, const char *name, int *cls, size_t *size, int *vlstr, hssize_t *npoints, int *rank);
herr_t enkg_attr_read(hid_t loc, const char *name, int kind, void *buf);
char *enkg_attr_read_string(hid_t loc, const char *name);
herr_t enkg_attr_write(hid_t loc, const char *name, int kind, const void *data, hssize_t n);
long enkg_attr_names(hid_t loc, char *buf, size_t cap);
herr_t enkg_set_extent(hid_t dset, int rank, hsize_t d0, hsize_t d1, hsize_t d2);
herr_t enkg_set_shuffle(hid_t plist);
herr_t enkg_set_fletcher32(hid_t plist);
herr_t enkg_flush(hid_t obj);
void enkg_silence(void);

#endif
